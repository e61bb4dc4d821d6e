// GOV.UK Frontend's components (error summary focus, radios, service navigation, notification banners).
import { initAll } from './vendor/govuk-frontend/govuk-frontend.min.js'

initAll()
