import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { documents } from './operations.js'

// The consoles' documents modules (src/consoles/**/operations.js) register themselves with the
// API client: read as text.
function consoleDocumentNames() {
  const folder = new URL('../consoles/', import.meta.url)
  return readdirSync(folder, { recursive: true })
    .filter((file) => file.endsWith('operations.js'))
    .flatMap((file) => [...readFileSync(new URL(file, folder), 'utf8')
      .matchAll(/operations\/(\w+)\.graphql\?raw/g)].map((match) => match[1]))
}

function sourcesUnder(folder) {
  return readdirSync(folder, { recursive: true })
    .filter((file) => /\.(js|vue)$/.test(file) && !file.endsWith('.test.js'))
    .map((file) => readFileSync(new URL(file, folder), 'utf8'))
}

describe('the documents the app sends', () => {
  it('are the files of graphql/operations/, unchanged, and every one the screens name exists', () => {
    const dir = new URL('../../../../graphql/operations/', import.meta.url)
    const files = new Set(readdirSync(dir).filter((f) => f.endsWith('.graphql')).map((f) => f.slice(0, -8)))
    for (const [name, text] of Object.entries(documents)) {
      expect(files.has(name), name).toBe(true)
      expect(text).toBe(readFileSync(new URL(`${name}.graphql`, dir), 'utf8'))
    }
    const used = new Set()
    // a lazily loaded component may register its own documents (the place page's 信息有误)
    const lazy = new Set()
    const views = new URL('../', import.meta.url)
    for (const folder of ['views/', 'components/', 'lib/']) {
      for (const file of readdirSync(new URL(folder, views))) {
        if (file.endsWith('.test.js')) continue
        const source = readFileSync(new URL(folder + file, views), 'utf8')
        for (const match of source.matchAll(/gql\('(\w+)'/g)) used.add(match[1])
        for (const match of source.matchAll(/operations\/(\w+)\.graphql\?raw/g)) {
          if (folder !== 'lib/') lazy.add(match[1])
        }
      }
    }
    expect(used.size).toBeGreaterThan(10)
    for (const name of lazy) expect(files.has(name), name).toBe(true)
    for (const name of used) expect(documents[name] || lazy.has(name), name).toBeTruthy()
  })

  it('of the consoles are files of graphql/operations/, and the consoles name only those', () => {
    const dir = new URL('../../../../graphql/operations/', import.meta.url)
    const names = new Set(consoleDocumentNames())
    expect(names.size).toBeGreaterThan(0)
    for (const name of names) expect(readdirSync(dir)).toContain(`${name}.graphql`)
    for (const source of sourcesUnder(new URL('../consoles/', import.meta.url))) {
      for (const match of source.matchAll(/gql\('(\w+)'/g)) {
        expect(names.has(match[1]) || match[1] in documents, match[1]).toBe(true)
      }
    }
  })
})
