import { inject } from 'vue'
import { api } from '@/api/index.js'

export const API_KEY = Symbol('api')

/** The API client: the app's own, or one a test provides under API_KEY. */
export function useApi() {
  return inject(API_KEY, api)
}
