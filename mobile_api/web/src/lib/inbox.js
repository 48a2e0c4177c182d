// The unread badge of the messages tab.
import { reactive } from 'vue'
import { gql } from './api.js'
import { session } from './auth.js'

export const inbox = reactive({ unread: 0 })
let last = 0

export async function refreshUnread({ force = false } = {}) {
  if (!session.token) {
    inbox.unread = 0
    return
  }
  if (!force && Date.now() - last < 15_000) return
  last = Date.now()
  try {
    const data = await gql('MyNotifications', { first: 1, unreadOnly: true }, { auth: true })
    inbox.unread = data.me?.notifications.unreadCount || 0
  } catch {
    // the badge is not worth an error message
  }
}
