// The editor console's guide editing: an item in the catalog's format (what upsertServiceItem
// takes, backend/guidance/data/service_items.json) shown as the resident app shows a guide,
// with the personal checklist worked out here as the API does (backend/guidance/queries.py).

// Whether a material is needed for these answers: true, false, or null while a question it
// depends on is unanswered.
export function requiredFor(material, answers) {
  const when = Object.entries(material.when || {})
  if (when.some(([question, expected]) => question in answers && answers[question] !== expected)) return false
  return when.some(([question]) => !(question in answers)) ? null : true
}

export function checklistOf(draft, answers, certificates = []) {
  const names = Object.fromEntries(certificates.map((entry) => [entry.code, entry.name]))
  const required = []
  const pending = new Set()
  for (const material of draft.materials || []) {
    const decided = requiredFor(material, answers)
    if (decided) {
      required.push({
        id: material.id, name: material.name, form: material.form, count: material.count,
        note: material.note,
        eCertificate: material.e_certificate
          ? { name: names[material.e_certificate] || material.e_certificate } : null,
      })
    } else if (decided === null) {
      for (const question of Object.keys(material.when || {})) if (!(question in answers)) pending.add(question)
    }
  }
  return {
    materials: required,
    pendingQuestions: (draft.questions || []).filter((question) => pending.has(question.id)),
  }
}

// The draft in the shape GuideContent.vue renders (the ServiceItemGuide document's).
export function previewItem(draft) {
  return {
    name: draft.name || '（未命名事项）',
    category: draft.category || '',
    guide: {
      handlingModes: draft.handling_modes || [], isDemoContent: false, notice: '',
      summary: draft.summary || '', department: draft.department || '',
      eligibility: draft.eligibility || '', questions: draft.questions || [],
      steps: (draft.steps || []).map((step, index) => ({ order: index + 1, ...step })),
      fee: draft.fee || '', timeLimit: draft.time_limit || '', onlineUrl: draft.online_url || '',
    },
  }
}

export function blankItem() {
  return {
    code: '', name: '', aliases: [], category: '', department: '', summary: '', eligibility: '',
    handling_modes: [], place_kinds: ['SERVICE_HALL'], questions: [],
    materials: [], steps: [], fee: '不收费', time_limit: '', legal_basis: '', online_url: '',
  }
}
