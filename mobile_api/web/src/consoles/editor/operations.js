// The editor console's documents (src/consoles/editor/), registered with the API client when
// the console's chunk loads. One block per part of the console.
import { registerDocuments } from '../../lib/api.js'

// --- places: list, map, edit form, revisions, hall windows ---------------------------------
// (AdminRegion: the names of the editor's grants in the list's region filter)
import AdminRegion from '../../../../../graphql/operations/AdminRegion.graphql?raw'
import ArchivePlace from '../../../../../graphql/operations/ArchivePlace.graphql?raw'
import CreatePlace from '../../../../../graphql/operations/CreatePlace.graphql?raw'
import EditPlace from '../../../../../graphql/operations/EditPlace.graphql?raw'
import EditorHallWindows from '../../../../../graphql/operations/EditorHallWindows.graphql?raw'
import EditorPlaces from '../../../../../graphql/operations/EditorPlaces.graphql?raw'
import GeocodeAddress from '../../../../../graphql/operations/GeocodeAddress.graphql?raw'
import RestorePlace from '../../../../../graphql/operations/RestorePlace.graphql?raw'
import RevertPlace from '../../../../../graphql/operations/RevertPlace.graphql?raw'
import SearchServiceItems from '../../../../../graphql/operations/SearchServiceItems.graphql?raw'
import SetPlaceServiceItems from '../../../../../graphql/operations/SetPlaceServiceItems.graphql?raw'
import UpdatePlace from '../../../../../graphql/operations/UpdatePlace.graphql?raw'
import UpsertWindow from '../../../../../graphql/operations/UpsertWindow.graphql?raw'
import WhereAmI from '../../../../../graphql/operations/WhereAmI.graphql?raw'

export const placeDocuments = {
  AdminRegion, ArchivePlace, CreatePlace, EditPlace, EditorHallWindows, EditorPlaces, GeocodeAddress,
  RestorePlace, RevertPlace, SearchServiceItems, SetPlaceServiceItems, UpdatePlace,
  UpsertWindow, WhereAmI,
}
registerDocuments(placeDocuments)
// --- end of places ----------------------------------------------------------------------------
