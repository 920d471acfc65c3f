// Reads a FHIR R4 document Bundle (an IPS) on stdin and prints, as one JSON line, what each
// Composition section holds once its entry references are resolved inside the Bundle:
//   {"sections": {"<LOINC code, or the first code>": {"entries": n, "resolved": n, "emptyReason": code|null,
//                                  "types": {"<ResourceType>": n}}},
//    "unresolved": ["<LOINC code>: <reference>", ...]}
// An independent reading of the Bundle with Medplum's own FHIR helpers (FHIRPath, reference
// parsing), for tests/ips/medplum.py. References resolve by the R4 Bundle rules: an absolute
// reference (urn:uuid:, http…) matches a fullUrl; a relative Type/id is read against the base of
// the Composition's RESTful fullUrl, and does not resolve when the Composition has a URN.
import { evalFhirPath, getReferenceString, isReference, isResource, parseReference } from '@medplum/core';

const LOINC = 'http://loinc.org';
const RESTFUL_BASE = /^(https?:\/\/(?:[^/]+\/)*)[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/;
const RELATIVE = /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/;

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

const bundle = JSON.parse(await readStdin());
const entries = bundle.entry ?? [];
const byFullUrl = new Map();
for (const entry of entries) {
  if (typeof entry.fullUrl === 'string' && isResource(entry.resource) && !byFullUrl.has(entry.fullUrl)) {
    byFullUrl.set(entry.fullUrl, entry.resource);
  }
}
const compositionEntry = entries[0];
if (!isResource(compositionEntry?.resource, 'Composition')) {
  throw new Error('the first entry is not a Composition');
}
const composition = compositionEntry.resource;
const base = RESTFUL_BASE.exec(compositionEntry.fullUrl ?? '')?.[1];

function resolve(reference) {
  if (!isReference(reference)) return undefined;
  const found = byFullUrl.get(reference.reference);
  if (found) return found;
  if (base && RELATIVE.test(reference.reference)) {
    const [type, id] = parseReference(reference);
    const target = byFullUrl.get(`${base}${type}/${id}`);
    // The fullUrl names the type and id; the resource must say the same.
    if (target && getReferenceString(target) === `${type}/${id}`) return target;
  }
  return undefined;
}

const sections = {};
const unresolved = [];
for (const section of evalFhirPath('Composition.section', composition)) {
  // A section's LOINC code, else (a section of the document's own) its first code.
  const [loinc] = evalFhirPath(`code.coding.where(system = '${LOINC}').code`, section);
  const [first] = evalFhirPath('code.coding.code', section);
  const code = loinc ?? first;
  const [emptyReason] = evalFhirPath('emptyReason.coding.code', section);
  const counts = { entries: 0, resolved: 0, emptyReason: emptyReason ?? null, types: {} };
  for (const entry of section.entry ?? []) {
    counts.entries += 1;
    const target = resolve(entry);
    if (target) {
      counts.resolved += 1;
      counts.types[target.resourceType] = (counts.types[target.resourceType] ?? 0) + 1;
    } else {
      unresolved.push(`${code}: ${entry.reference ?? JSON.stringify(entry)}`);
    }
  }
  sections[code] = counts;
}
console.log(JSON.stringify({ sections, unresolved }));
