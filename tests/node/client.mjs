// A stock GraphQL client (graphql-request) as an EHR integration would use it: fetch a summary
// with variables, then send an invalid identity number and read the typed error. Prints one
// JSON line for the pytest that runs it (tests/e2e/test_node_tools.py).
//
// Usage: node client.mjs http://127.0.0.1:PORT/graphql VALID_NIN
// GRAPHQL_AUTHORIZATION (if set) is sent as the Authorization header.
import { ClientError, GraphQLClient, gql } from 'graphql-request';

const [url, nin] = process.argv.slice(2);
const headers = process.env.GRAPHQL_AUTHORIZATION
  ? { authorization: process.env.GRAPHQL_AUTHORIZATION }
  : {};
const client = new GraphQLClient(url, { headers });

const SUMMARY = gql`
  query Summary($nin: NationalIdentityNumber!) {
    patient(nin: $nin) {
      nin
      identityNumberKind
      medications { status prescriptions { id } }
    }
  }
`;

const summary = await client.request(SUMMARY, { nin });
let badInput = null;
try {
  await client.request(SUMMARY, { nin: '12345678901' });
} catch (error) {
  if (!(error instanceof ClientError)) throw error;
  badInput = {
    status: error.response.status,
    codes: error.response.errors.map((e) => e.extensions?.code),
    messages: error.response.errors.map((e) => e.message),
  };
}
console.log(JSON.stringify({ summary, badInput }));
