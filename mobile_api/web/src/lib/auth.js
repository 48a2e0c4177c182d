// Who is signed in: an ID token (development: minted by /m/v1/dev/token for a demo resident;
// production: Firebase Auth's web SDK, phone number), refreshed before it expires.
import { reactive } from 'vue'

const KEY = 'servicemap.session'
const REFRESH_BEFORE_MS = 60_000
const EMPTY = { uid: null, name: null, token: null, expiresAt: 0, method: null }

function stored() {
  try {
    return { ...EMPTY, ...JSON.parse(localStorage.getItem(KEY) || '{}') }
  } catch {
    return { ...EMPTY }
  }
}

export const session = reactive(stored())

function save(values) {
  Object.assign(session, values)
  if (session.token) localStorage.setItem(KEY, JSON.stringify(session))
  else localStorage.removeItem(KEY)
}

let configPromise = null
export function appConfig() {
  configPromise ||= fetch('/m/v1/config')
    .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
    .catch(() => {
      configPromise = null
      return { devSignIn: false, demoResidents: [], firebase: null, map: {} }
    })
  return configPromise
}

export async function devSignIn(uid, name = null) {
  const response = await fetch('/m/v1/dev/token', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ uid }),
  })
  if (!response.ok) throw new Error('dev sign-in refused')
  const body = await response.json()
  save({ uid, name: name || session.name, token: body.token, method: 'dev',
         expiresAt: Date.now() + body.expiresIn * 1000 })
  return session
}

// Firebase Auth, loaded only when used (it is not part of the first screen's download).
let firebaseAuthPromise = null
async function firebaseAuth() {
  const config = await appConfig()
  if (!config.firebase) throw new Error('Firebase is not configured')
  firebaseAuthPromise ||= Promise.all([import('firebase/app'), import('firebase/auth')])
    .then(([{ initializeApp }, authModule]) => {
      const auth = authModule.getAuth(initializeApp(config.firebase))
      auth.languageCode = 'zh-CN'
      return { auth, module: authModule }
    })
  return firebaseAuthPromise
}

export async function startPhoneSignIn(phoneNumber, buttonId) {
  const { auth, module } = await firebaseAuth()
  const verifier = new module.RecaptchaVerifier(auth, buttonId, { size: 'invisible' })
  return module.signInWithPhoneNumber(auth, phoneNumber, verifier)
}

export async function confirmPhoneCode(confirmation, code) {
  const credential = await confirmation.confirm(code)
  const result = await credential.user.getIdTokenResult()
  save({ uid: credential.user.uid, name: credential.user.phoneNumber, token: result.token,
         method: 'firebase', expiresAt: Date.parse(result.expirationTime) })
  return session
}

// The token to send; refreshed when it is about to expire (or when the server refused it).
export async function idToken({ force = false } = {}) {
  if (!session.token) return null
  if (!force && session.expiresAt - Date.now() > REFRESH_BEFORE_MS) return session.token
  try {
    if (session.method === 'dev') {
      await devSignIn(session.uid)
    } else if (session.method === 'firebase') {
      const { auth } = await firebaseAuth()
      if (!auth.currentUser) throw new Error('signed out')
      const result = await auth.currentUser.getIdTokenResult(true)
      save({ token: result.token, expiresAt: Date.parse(result.expirationTime) })
    }
    return session.token
  } catch {
    return null
  }
}

export function signOut() {
  if (session.method === 'firebase' && firebaseAuthPromise) {
    firebaseAuthPromise.then(({ auth }) => auth.signOut()).catch(() => {})
  }
  save({ ...EMPTY })
}
