// The documents the app sends: exactly the files of graphql/operations/ (the trusted documents),
// imported as text at build time. Components never write GraphQL inline.
import AvailableSlots from '../../../../graphql/operations/AvailableSlots.graphql?raw'
import BookAppointment from '../../../../graphql/operations/BookAppointment.graphql?raw'
import CancelAppointment from '../../../../graphql/operations/CancelAppointment.graphql?raw'
import Clusters from '../../../../graphql/operations/Clusters.graphql?raw'
import MapClusters from '../../../../graphql/operations/MapClusters.graphql?raw'
import MarkNotificationsRead from '../../../../graphql/operations/MarkNotificationsRead.graphql?raw'
import MyAppointments from '../../../../graphql/operations/MyAppointments.graphql?raw'
import MyNotifications from '../../../../graphql/operations/MyNotifications.graphql?raw'
import FindPlaces from '../../../../graphql/operations/FindPlaces.graphql?raw'
import PlaceSheet from '../../../../graphql/operations/PlaceSheet.graphql?raw'
import Regions from '../../../../graphql/operations/Regions.graphql?raw'
import RegisterDevice from '../../../../graphql/operations/RegisterDevice.graphql?raw'
import RescheduleAppointment from '../../../../graphql/operations/RescheduleAppointment.graphql?raw'
import SearchServiceItems from '../../../../graphql/operations/SearchServiceItems.graphql?raw'
import ServiceItemGuide from '../../../../graphql/operations/ServiceItemGuide.graphql?raw'
import UnregisterDevice from '../../../../graphql/operations/UnregisterDevice.graphql?raw'

export const documents = {
  AvailableSlots, BookAppointment, CancelAppointment, Clusters, MapClusters, MarkNotificationsRead,
  MyAppointments, MyNotifications, FindPlaces, PlaceSheet, Regions, RegisterDevice,
  RescheduleAppointment, SearchServiceItems, ServiceItemGuide, UnregisterDevice,
}
