import { defineStore } from 'pinia'
import { ref } from 'vue'
import { api } from '@/api/index.js'
import { Balance, Checkout, LedgerEntry, Purchase, TokenPackages, pageOf } from '@/api/schemas.js'

const LedgerPage = pageOf(LedgerEntry)

function newIdempotencyKey() {
  return globalThis.crypto.randomUUID()
}

/** The signed-in user's tokens: balance, packages, purchases and history (spec §6.4). */
export const useTokensStore = defineStore('tokens', () => {
  const balance = ref(null)
  const earned = ref(null)
  const packages = ref([])

  function setBalance(tokens, earnings = null) {
    balance.value = tokens
    earned.value = earnings
  }

  function reset() {
    setBalance(null, null)
  }

  async function refreshBalance() {
    const current = await api.get('/api/v1/tokens/balance', { schema: Balance })
    setBalance(current.token_balance, current.earned_token_balance)
    return current
  }

  async function loadPackages() {
    packages.value = await api.get('/api/v1/tokens/packages', { schema: TokenPackages })
    return packages.value
  }

  /** A pending order; the caller sends the buyer to the checkout it describes. */
  function startPurchase(packageId) {
    return api.post('/api/v1/tokens/purchase', {
      json: { package_id: packageId },
      headers: { 'Idempotency-Key': newIdempotencyKey() },
      schema: Checkout,
    })
  }

  /** What the success redirect carried; refreshing the page confirms again and gets the same purchase. */
  async function confirmPurchase({ paymentKey, orderId, amount }) {
    const purchase = await api.post('/api/v1/tokens/purchase/confirm', {
      json: { paymentKey, orderId, amount: String(amount) },
      headers: { 'Idempotency-Key': `confirm-${orderId}` },
      schema: Purchase,
    })
    await refreshBalance()
    return purchase
  }

  function transactionsPage(type, cursor) {
    return api.get('/api/v1/tokens/transactions', { query: { type, cursor, limit: 20 }, schema: LedgerPage })
  }

  return {
    balance,
    earned,
    packages,
    setBalance,
    reset,
    refreshBalance,
    loadPackages,
    startPurchase,
    confirmPurchase,
    transactionsPage,
  }
})
