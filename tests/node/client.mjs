// A stock GraphQL client (graphql-request) as an EHR integration would use it. Runs one scenario
// and prints one JSON line for the pytest that runs it (tests/e2e/test_node_tools.py).
//
// Usage: node client.mjs SCENARIO http://127.0.0.1:PORT/graphql NIN
//   summary          a summary with variables, then an invalid identity number's typed error
//   partial          a section's registry fails: the default errorPolicy, then errorPolicy 'all'
//   unauthenticated  no token: where graphql-request reports the 401
//   get              a query over GET, without and with the preflight header
// GRAPHQL_AUTHORIZATION (if set) is sent as the Authorization header.
import { ClientError, GraphQLClient, gql } from 'graphql-request';

const [scenario, url, nin] = process.argv.slice(2);
const authorization = process.env.GRAPHQL_AUTHORIZATION;
const headers = authorization ? { authorization } : {};

const SUMMARY = gql`
  query Summary($nin: NationalIdentityNumber!) {
    patient(nin: $nin) {
      nin
      identityNumberKind
      medications { status prescriptions { id } }
    }
  }
`;

function describe(error) {
  if (!(error instanceof ClientError)) throw error;
  return {
    status: error.response.status,
    data: error.response.data ?? null,
    codes: (error.response.errors ?? []).map((e) => e.extensions?.code),
    messages: (error.response.errors ?? []).map((e) => e.message),
  };
}

async function attempt(client, variables = { nin }) {
  try {
    return { result: await client.request(SUMMARY, variables) };
  } catch (error) {
    return { thrown: describe(error) };
  }
}

async function summary() {
  const client = new GraphQLClient(url, { headers });
  const { result } = await attempt(client);
  const { thrown } = await attempt(client, { nin: '12345678901' });
  return { summary: result, badInput: thrown };
}

async function partial() {
  const thrown = (await attempt(new GraphQLClient(url, { headers }))).thrown;
  const all = new GraphQLClient(url, { headers, errorPolicy: 'all' });
  const { data, errors } = await all.rawRequest(SUMMARY, { nin });
  return {
    thrown,
    all: {
      medications: data.patient.medications,
      errors: (errors ?? []).map((e) => ({ code: e.extensions?.code, path: e.path })),
    },
  };
}

async function unauthenticated() {
  return attempt(new GraphQLClient(url));
}

async function get() {
  const plain = await attempt(new GraphQLClient(url, { headers, method: 'GET' }));
  const preflighted = await attempt(
    new GraphQLClient(url, {
      headers: { ...headers, 'apollo-require-preflight': 'true' },
      method: 'GET',
    }),
  );
  return { plain, preflighted };
}

const scenarios = { summary, partial, unauthenticated, get };
console.log(JSON.stringify(await scenarios[scenario]()));
