// The peer: GraphQL Mesh Compose over the same six mock registries, one operation per FHIR
// search the summary gateway makes for a summary (docs/fhir-profile.md), with the same
// parameters (page size 50). The registries' base URLs come from the environment, because the
// harness starts them on free ports: BENCH_<SOURCE>_URL, e.g. BENCH_PRESCRIPTIONS_URL.
// Response types come from hand-written JSON schemas (schemas/fhir.json), not from samples.
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadJSONSchemaSubgraph } from '@omnigraph/json-schema';

function baseUrl(source: string): string {
  const url = process.env[`BENCH_${source}_URL`];
  if (!url) {
    throw new Error(`BENCH_${source}_URL is not set`);
  }
  return url;
}

// A search for one patient: `patient` is the identifier token (system|value).
function search(field: string, path: string, bundle: string) {
  return {
    type: 'query' as const,
    field,
    path,
    method: 'GET' as const,
    argTypeMap: { patient: { type: 'string' as const } },
    responseSchema: `./schemas/fhir.json#/definitions/${bundle}`,
  };
}

function registry(name: string, source: string, operations: ReturnType<typeof search>[]) {
  return {
    sourceHandler: loadJSONSchemaSubgraph(name, {
      endpoint: baseUrl(source),
      operationHeaders: { Accept: 'application/fhir+json' },
      operations,
    }),
  };
}

export const composeConfig = defineConfig({
  subgraphs: [
    registry('Prescriptions', 'PRESCRIPTIONS', [
      search('medicationRequests', '/MedicationRequest?subject:identifier={args.patient}&_count=50', 'MedicationRequestBundle'),
      search('medicationDispenses', '/MedicationDispense?subject:identifier={args.patient}&_count=50', 'MedicationDispenseBundle'),
    ]),
    registry('GpRegistry', 'GP_REGISTRY', [
      search(
        'practitionerRoles',
        '/PractitionerRole?patient:identifier={args.patient}&_include=PractitionerRole:practitioner&_include=PractitionerRole:organization&_count=50',
        'GpRegistryBundle',
      ),
    ]),
    registry('VisitHistory', 'VISIT_HISTORY', [
      search('encounters', '/Encounter?subject:identifier={args.patient}&date=ge2008-01-01&_count=50', 'EncounterBundle'),
    ]),
    registry('Documents', 'DOCUMENTS', [
      search('documentReferences', '/DocumentReference?subject:identifier={args.patient}&_count=50', 'DocumentReferenceBundle'),
    ]),
    registry('LabResults', 'LAB_RESULTS', [
      search(
        'diagnosticReports',
        '/DiagnosticReport?subject:identifier={args.patient}&_include=DiagnosticReport:result&_count=50',
        'LabBundle',
      ),
    ]),
    registry('CoreRecord', 'CORE_RECORD', [
      search('patients', '/Patient?identifier={args.patient}&_count=50', 'PatientBundle'),
      search('consents', '/Consent?patient:identifier={args.patient}&_count=50', 'ConsentBundle'),
      search('allergyIntolerances', '/AllergyIntolerance?patient:identifier={args.patient}&_count=50', 'AllergyIntoleranceBundle'),
      search('conditions', '/Condition?subject:identifier={args.patient}&_count=50', 'ConditionBundle'),
      search('procedures', '/Procedure?subject:identifier={args.patient}&_count=50', 'ProcedureBundle'),
      search('deviceUseStatements', '/DeviceUseStatement?subject:identifier={args.patient}&_count=50', 'DeviceUseStatementBundle'),
      search('flags', '/Flag?subject:identifier={args.patient}&_count=50', 'FlagBundle'),
      search('relatedPersons', '/RelatedPerson?patient:identifier={args.patient}&_count=50', 'RelatedPersonBundle'),
    ]),
  ],
});
