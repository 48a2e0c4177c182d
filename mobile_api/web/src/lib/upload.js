// A file sent to /graphql by the GraphQL multipart request spec (operations, map, the file),
// through XMLHttpRequest for its upload progress. The same document registry, token and
// errors as api.js's gql.
import { idToken } from './auth.js'
import { documentText } from './api.js'
import { ApiError } from './errors.js'

export function multipartBody(name, query, variables, file, fileVariable = 'file') {
  const form = new FormData()
  form.append('operations', JSON.stringify({
    query, operationName: name, variables: { ...variables, [fileVariable]: null },
  }))
  form.append('map', JSON.stringify({ 0: [`variables.${fileVariable}`] }))
  form.append('0', file, file.name)
  return form
}

function send(body, token, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest()
    request.open('POST', '/graphql')
    if (token) request.setRequestHeader('Authorization', `Bearer ${token}`)
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress?.(event.loaded / event.total)
    }
    request.onload = () => resolve(request)
    request.onerror = () => reject(new ApiError(navigator.onLine ? 'NETWORK' : 'OFFLINE'))
    request.send(body)
  })
}

export async function gqlUpload(name, variables, file, { onProgress } = {}) {
  const query = documentText(name)
  const token = await idToken()
  if (!token) throw new ApiError('UNAUTHENTICATED')
  const request = await send(multipartBody(name, query, variables, file), token, onProgress)
  if (request.status === 429) throw new ApiError('RATE_LIMITED', { status: 429 })
  if (request.status === 413) throw new ApiError('FILE_TOO_LARGE', { status: 413 })
  let body
  try {
    body = JSON.parse(request.responseText)
  } catch {
    throw new ApiError('SERVER', { status: request.status })
  }
  if (body.errors?.length) {
    const error = body.errors[0]
    throw new ApiError(error.extensions?.code || 'SERVER', { field: error.extensions?.field })
  }
  return body.data
}
