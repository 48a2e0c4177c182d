// The admin console's documents: role grants and the holiday calendar.
import AdminGrants from '../../../../../graphql/operations/AdminGrants.graphql?raw'
import AdminRegion from '../../../../../graphql/operations/AdminRegion.graphql?raw'
import AdminWindow from '../../../../../graphql/operations/AdminWindow.graphql?raw'
import CalendarDays from '../../../../../graphql/operations/CalendarDays.graphql?raw'
import ClearCalendarDay from '../../../../../graphql/operations/ClearCalendarDay.graphql?raw'
import GrantRole from '../../../../../graphql/operations/GrantRole.graphql?raw'
import RevokeRole from '../../../../../graphql/operations/RevokeRole.graphql?raw'
import SetCalendarDay from '../../../../../graphql/operations/SetCalendarDay.graphql?raw'
import { registerDocuments } from '../../lib/api.js'

export const adminDocuments = {
  AdminGrants, AdminRegion, AdminWindow, CalendarDays, ClearCalendarDay, GrantRole, RevokeRole,
  SetCalendarDay,
}

registerDocuments(adminDocuments)

export const ROLE_LABELS = { staff: '窗口人员', editor: '内容编辑', admin: '管理员' }
