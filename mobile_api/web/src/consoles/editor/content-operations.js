// The editor console's documents for residents' reports, the import and service items,
// registered when the first of those screens loads (never part of a resident's download).
import DismissPlaceReport from '../../../../../graphql/operations/DismissPlaceReport.graphql?raw'
import ImportPlaces from '../../../../../graphql/operations/ImportPlaces.graphql?raw'
import PlaceReport from '../../../../../graphql/operations/PlaceReport.graphql?raw'
import PlaceReports from '../../../../../graphql/operations/PlaceReports.graphql?raw'
import ResolvePlaceReport from '../../../../../graphql/operations/ResolvePlaceReport.graphql?raw'
import ServiceItemDocument from '../../../../../graphql/operations/ServiceItemDocument.graphql?raw'
import UpsertServiceItem from '../../../../../graphql/operations/UpsertServiceItem.graphql?raw'
import { registerDocuments } from '../../lib/api.js'

export const contentDocuments = {
  DismissPlaceReport, ImportPlaces, PlaceReport, PlaceReports, ResolvePlaceReport,
  ServiceItemDocument, UpsertServiceItem,
}

registerDocuments(contentDocuments)
