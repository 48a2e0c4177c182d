// Push registration (RegisterDevice, platform WEB) where the browser supports it and the server
// gave a Firebase messaging configuration; otherwise the inbox is the only channel.
import { gql } from './api.js'

export function pushSupported(config) {
  return typeof window !== 'undefined' && 'serviceWorker' in navigator && 'PushManager' in window &&
    'Notification' in window && Boolean(config?.firebase?.messagingSenderId && config?.firebase?.vapidKey)
}

export async function registerPush() {
  try {
    const { appConfig } = await import('./auth.js')
    const config = await appConfig()
    if ((await Notification.requestPermission()) !== 'granted') return '未获得通知权限'
    const [{ initializeApp, getApps }, messaging] = await Promise.all([
      import('firebase/app'), import('firebase/messaging')])
    const app = getApps()[0] || initializeApp(config.firebase)
    const registration = await navigator.serviceWorker.ready
    const token = await messaging.getToken(messaging.getMessaging(app), {
      vapidKey: config.firebase.vapidKey, serviceWorkerRegistration: registration })
    const payload = (await gql('RegisterDevice', { token, platform: 'WEB', locale: 'zh-CN' },
      { auth: true })).registerDevice
    if (payload.errors.length) return '开启失败，请稍后重试'
    localStorage.setItem('servicemap.pushToken', token)
    return '已开启推送提醒'
  } catch {
    return '开启失败，请稍后重试'
  }
}

// Signing out stops this browser receiving the user's pushes.
export async function unregisterPush() {
  const token = localStorage.getItem('servicemap.pushToken')
  if (!token) return
  try {
    await gql('UnregisterDevice', { token }, { auth: true })
  } finally {
    localStorage.removeItem('servicemap.pushToken')
  }
}
