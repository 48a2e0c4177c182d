// GraphiQL (development only), bundled from npm: nothing is loaded from a CDN.
import { createGraphiQLFetcher } from '@graphiql/toolkit'
import { GraphiQL } from 'graphiql'
import 'graphiql/graphiql.css'
import { createElement } from 'react'
import { createRoot } from 'react-dom/client'

const fetcher = createGraphiQLFetcher({ url: '/graphql' })
createRoot(document.getElementById('graphiql')).render(
  createElement(GraphiQL, { fetcher, defaultEditorToolbarTabs: 'variables' }),
)
