/**
 * The hash that identifies what approving a pin review accepts, and that PinStore.approve and
 * the control API's `POST /pins/:server/:kind/:name/approve` require: the offered definition's
 * `hash` for `new` and `changed`, the pinned definition's `pinnedHash` for `removed` (hex
 * SHA-256 of the canonical definition; null only for a damaged review). Dependency-free, so the
 * CLI and the dashboard use the same rule.
 */
export function reviewHash(review: {
  status: 'new' | 'changed' | 'removed';
  hash: string | null;
  pinnedHash: string | null;
}): string | null {
  return review.status === 'removed' ? review.pinnedHash : review.hash;
}
