import { describe, expect, it } from 'vitest'
import { multipartBody } from './upload.js'

describe('the GraphQL multipart request', () => {
  it('sends the operation with a null file variable, the map, then the file', async () => {
    const file = new File(['external_id,name\n'], 'places.csv', { type: 'text/csv' })
    const form = multipartBody('ImportPlaces', 'mutation ImportPlaces { x }', { dryRun: true }, file)
    expect([...form.keys()]).toEqual(['operations', 'map', '0'])
    expect(JSON.parse(form.get('operations'))).toEqual({
      query: 'mutation ImportPlaces { x }', operationName: 'ImportPlaces',
      variables: { dryRun: true, file: null },
    })
    expect(JSON.parse(form.get('map'))).toEqual({ 0: ['variables.file'] })
    expect(form.get('0').name).toBe('places.csv')
    expect(await form.get('0').text()).toBe('external_id,name\n')
  })
})
