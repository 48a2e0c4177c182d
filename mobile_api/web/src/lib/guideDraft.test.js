import { describe, expect, it } from 'vitest'
import { checklistOf, previewItem, requiredFor } from './guideDraft.js'

const draft = {
  name: '户口迁移', category: '户籍办理', handling_modes: ['MULTI_PLACE'],
  questions: [{ id: 'spouse', text: '是否属于夫妻投靠迁移？' }, { id: 'proxy', text: '是否委托他人？' }],
  materials: [
    { id: 'id-card', name: '居民身份证', form: 'ORIGINAL', count: 1, note: '', e_certificate: 'ID_CARD' },
    { id: 'marriage', name: '结婚证', form: 'ORIGINAL', count: 1, note: '', e_certificate: null, when: { spouse: true } },
    { id: 'own', name: '本人到场承诺', form: 'ORIGINAL', count: 1, note: '', e_certificate: null, when: { proxy: false } },
  ],
  steps: [{ title: '申请', description: '到窗口申请' }],
}

describe('the guide preview', () => {
  it('decides a material as the API does: needed, not needed, or waiting for an answer', () => {
    expect(requiredFor(draft.materials[0], {})).toBe(true)
    expect(requiredFor(draft.materials[1], {})).toBe(null)
    expect(requiredFor(draft.materials[1], { spouse: true })).toBe(true)
    expect(requiredFor(draft.materials[1], { spouse: false })).toBe(false)
  })

  it('lists the needed materials with their e-certificates and the questions still open', () => {
    const list = checklistOf(draft, { spouse: true }, [{ code: 'ID_CARD', name: '居民身份证电子证照' }])
    expect(list.materials.map((m) => m.id)).toEqual(['id-card', 'marriage'])
    expect(list.materials[0].eCertificate).toEqual({ name: '居民身份证电子证照' })
    expect(list.pendingQuestions.map((q) => q.id)).toEqual(['proxy'])
  })

  it('numbers the steps as the resident app shows them', () => {
    expect(previewItem(draft).guide.steps).toEqual([{ order: 1, title: '申请', description: '到窗口申请' }])
  })
})
