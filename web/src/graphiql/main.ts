/**
 * The GraphQL playground: GraphiQL (React, Monaco editor) from npm, bundled by Vite as its own entry
 * (graphiql.html), so the app's JavaScript does not carry it. Served by the server at GET /graphql to a browser;
 * everything it loads (scripts, styles, the editor's web workers) comes from this server, never a CDN.
 */
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL, type GraphiQLProps } from 'graphiql';
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import { initialHeaders, playgroundConfig } from './session';

const EXAMPLE = `# Deals in a stage, by expected close date (Ctrl+Enter runs)
query Pipeline($stage: String = "qualified") {
  deals(where: { stage: { equalTo: $stage } }, order: [expectedCloseDate_ASC], first: 10) {
    count
    edges { node { objectId title amount stage expectedCloseDate contact { name } company { name } } }
    pageInfo { hasNextPage endCursor }
  }
}
`;

const config = playgroundConfig();
const headers = initialHeaders(config, globalThis.localStorage);

/**
 * POSTs JSON with the headers from the headers editor; any answer (a GraphQL result or a REST-style error) is shown.
 * GraphiQL's first schema fetch can run before the headers editor exists and then comes with no headers at all: that
 * one request gets the page's starting headers, so the schema loads (a query the user runs is sent as written).
 */
const fetcher: GraphiQLProps['fetcher'] = async (params, options) => {
  let sent = (options?.headers ?? {}) as Record<string, string>;
  if (params.operationName === 'IntrospectionQuery' && Object.keys(sent).length === 0) {
    sent = JSON.parse(headers) as Record<string, string>;
  }
  const response = await fetch(config.endpoint, {
    method: 'POST',
    headers: { ...sent, 'Content-Type': 'application/json' },
    body: JSON.stringify(params),
  });
  return response.json();
};

const root = document.getElementById('graphiql');
if (root) {
  createRoot(root).render(
    createElement(GraphiQL, {
      fetcher,
      defaultQuery: EXAMPLE,
      initialHeaders: headers, // the current session on every load (headers are not kept in storage)
      defaultHeaders: headers, // and in every new tab
      shouldPersistHeaders: false,
    }),
  );
}
