// The consoles' frame's own document (ConsoleMe). Each console keeps its documents in its own
// operations.js beside its screens (src/consoles/<console>/operations.js), registered the same way.
import ConsoleMe from '../../../../graphql/operations/ConsoleMe.graphql?raw'
import { registerDocuments } from '../lib/api.js'

export const consoleDocuments = {
  ConsoleMe,
}

registerDocuments(consoleDocuments)
