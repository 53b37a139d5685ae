/**
 * Shared inputs: the same keys and the same ~1 KB JSON object for every library, so no side gets a
 * cheaper value or a friendlier key distribution.
 */

export type JsonObject = { [key: string]: Json }
export type Json = null | boolean | number | string | Json[] | JsonObject

/** Warm keys each hit benchmark rotates through (a power of two so the rotation is a mask). */
export const KEY_COUNT = 1024
/** One hour: nothing expires during a run. */
export const TTL_MS = 3_600_000

export function benchKey(i: number): string {
  return `bench:item:${i.toString().padStart(5, '0')}`
}

export const KEYS: readonly string[] = Array.from({ length: KEY_COUNT }, (_, i) => benchKey(i))

/** A product-like API response; JSON.stringify gives ~1 KB (see VALUE_BYTES). */
export function makeValue(i: number): JsonObject {
  return {
    id: i,
    slug: `product-${i}`,
    title: `Stainless steel water bottle, model ${i}`,
    updatedAt: '2025-06-01T12:34:56.789Z',
    price: { amount: 1999 + (i % 100), currency: 'EUR' },
    inStock: i % 3 !== 0,
    tags: ['outdoor', 'kitchen', 'bpa-free', 'insulated', 'gift'],
    seller: { id: 7000 + (i % 50), name: 'Acme Outfitters', rating: 4.7, country: 'DE' },
    variants: Array.from({ length: 6 }, (_, v) => ({
      sku: `SKU-${i}-${v}`,
      color: ['black', 'white', 'teal', 'olive', 'rose', 'sand'][v] ?? 'black',
      sizeMl: 500 + v * 250,
      stock: (i * 7 + v) % 40,
    })),
    images: [
      `https://cdn.example.com/products/${i}/front-1200x1200.webp`,
      `https://cdn.example.com/products/${i}/side-1200x1200.webp`,
      `https://cdn.example.com/products/${i}/lid-1200x1200.webp`,
    ],
    description:
      'Double-walled, vacuum-insulated bottle that keeps drinks cold for 24 hours and hot for 12. ' +
      'Leak-proof lid, powder-coated finish, dishwasher safe.',
  }
}

export const VALUE_BYTES = Buffer.byteLength(JSON.stringify(makeValue(KEY_COUNT - 1)))

/** Returns the next key of a fixed set on each call, round robin. */
export function rotation(keys: readonly string[]): () => string {
  const mask = keys.length - 1
  if ((keys.length & mask) !== 0) throw new Error('rotation: key count must be a power of two')
  let i = 0
  return () => keys[i++ & mask]!
}
