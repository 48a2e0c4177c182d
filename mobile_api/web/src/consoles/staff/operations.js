// The staff console's documents (graphql/operations/), registered for gql().
import CheckIn from '../../../../../graphql/operations/CheckIn.graphql?raw'
import CloseDay from '../../../../../graphql/operations/CloseDay.graphql?raw'
import CloseOutDay from '../../../../../graphql/operations/CloseOutDay.graphql?raw'
import CloseSlot from '../../../../../graphql/operations/CloseSlot.graphql?raw'
import CompleteAppointment from '../../../../../graphql/operations/CompleteAppointment.graphql?raw'
import DeleteScheduleTemplate from '../../../../../graphql/operations/DeleteScheduleTemplate.graphql?raw'
import MarkNoShow from '../../../../../graphql/operations/MarkNoShow.graphql?raw'
import ReopenDay from '../../../../../graphql/operations/ReopenDay.graphql?raw'
import ReopenSlot from '../../../../../graphql/operations/ReopenSlot.graphql?raw'
import ScheduleTemplatePreview from '../../../../../graphql/operations/ScheduleTemplatePreview.graphql?raw'
import SetSlotCapacity from '../../../../../graphql/operations/SetSlotCapacity.graphql?raw'
import StaffWindow from '../../../../../graphql/operations/StaffWindow.graphql?raw'
import UpsertScheduleTemplate from '../../../../../graphql/operations/UpsertScheduleTemplate.graphql?raw'
import WindowDay from '../../../../../graphql/operations/WindowDay.graphql?raw'
import WindowSchedule from '../../../../../graphql/operations/WindowSchedule.graphql?raw'
import WindowWeek from '../../../../../graphql/operations/WindowWeek.graphql?raw'
import { registerDocuments } from '../../lib/api.js'

export const staffDocuments = {
  CheckIn, CloseDay, CloseOutDay, CloseSlot, CompleteAppointment, DeleteScheduleTemplate, MarkNoShow,
  ReopenDay, ReopenSlot, ScheduleTemplatePreview, SetSlotCapacity, StaffWindow, UpsertScheduleTemplate,
  WindowDay, WindowSchedule, WindowWeek,
}

registerDocuments(staffDocuments)
