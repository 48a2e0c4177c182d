// One way to the API: POST /graphql with a document of graphql/operations/ by name. Errors come
// back as ApiError with a Chinese message; a refused token is refreshed once, then the resident
// is asked to sign in again (what they were doing is kept: see bookingDraft.js).
import { reactive } from 'vue'
import { idToken, session } from './auth.js'
import { ApiError } from './errors.js'
import { documents } from './operations.js'

// The consoles' documents join when their code loads (src/consoles/operations.js), so a
// resident's phone never downloads them.
const known = { ...documents }
export function registerDocuments(more) {
  Object.assign(known, more)
}

// A registered document's text (the multipart upload of upload.js sends it too).
export function documentText(name) {
  if (!known[name]) throw new Error(`unknown document ${name}`)
  return known[name]
}

export const network = reactive({ online: typeof navigator === 'undefined' || navigator.onLine })
let signInNeeded = () => {}
export function onSignInNeeded(handler) {
  signInNeeded = handler
}

async function post(name, variables, token) {
  const headers = { 'Content-Type': 'application/json' }
  if (token) headers.Authorization = `Bearer ${token}`
  let response
  try {
    response = await fetch('/graphql', {
      method: 'POST', headers,
      body: JSON.stringify({ query: known[name], variables, operationName: name }),
    })
  } catch {
    network.online = false
    throw new ApiError(navigator.onLine ? 'NETWORK' : 'OFFLINE')
  }
  network.online = response.headers.get('X-Servicemap-Offline') !== '1'
  if (response.status === 429) throw new ApiError('RATE_LIMITED', { status: 429 })
  let body
  try {
    body = await response.json()
  } catch {
    throw new ApiError(response.status === 503 ? 'OFFLINE' : 'SERVER', { status: response.status })
  }
  return { body, offline: response.headers.get('X-Servicemap-Offline') === '1' }
}

export async function gql(name, variables = {}, { auth = false } = {}) {
  if (!known[name]) throw new Error(`unknown document ${name}`)
  let token = null
  if (auth) {
    token = await idToken()
    if (!token) {
      signInNeeded()
      throw new ApiError('UNAUTHENTICATED')
    }
  }
  let { body, offline } = await post(name, variables, token)
  const refused = (b) => b.errors?.some((e) => e.extensions?.code === 'UNAUTHENTICATED') ||
    (auth && b.data && 'me' in b.data && b.data.me === null)
  if (auth && refused(body)) {
    token = await idToken({ force: true })
    if (token) ({ body, offline } = await post(name, variables, token))
    if (!token || refused(body)) {
      signInNeeded()
      throw new ApiError('UNAUTHENTICATED')
    }
  }
  if (body.errors?.length && !body.data) {
    const error = body.errors[0]
    throw new ApiError(error.extensions?.code || 'SERVER', { field: error.extensions?.field })
  }
  if (body.errors?.length) {
    const error = body.errors[0]
    throw new ApiError(error.extensions?.code || 'SERVER', { field: error.extensions?.field })
  }
  if (offline) Object.defineProperty(body.data, 'offline', { value: true })
  return body.data
}

export function signedIn() {
  return Boolean(session.token)
}

// A file of the signed-in resident (.ics, QR) as an object URL.
export async function privateFile(path) {
  const token = await idToken()
  let response
  try {
    response = await fetch(path, { headers: { Authorization: `Bearer ${token}` } })
  } catch {
    throw new ApiError('NETWORK')
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}))
    throw new ApiError(body.error?.code || 'SERVER', { status: response.status })
  }
  return URL.createObjectURL(await response.blob())
}
