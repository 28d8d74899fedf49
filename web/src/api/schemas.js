// The shapes the app relies on, checked at runtime (spec §7.1: no TypeScript, runtime validation instead).
// They mirror the API's pydantic schemas; unknown extra fields pass through untouched.
import { z } from 'zod'

const id = z.number().int()
const timestamp = z.string()
// Decimals (prices, amounts) arrive as JSON strings; numbers are accepted too.
const decimal = z.union([z.string(), z.number()]).transform((value) => String(value))
// The reader's own likes and follows: null for visitors; the app reads null or absent as "no".
const readerState = z.boolean().nullable().optional()

export const ArtistPrivate = z.object({
  artist_name: z.string(),
  follower_count: z.number().int(),
  verified_email: z.string(),
  earned_token_balance: z.number().int(),
  has_signature_image: z.boolean(),
})

export const UserPrivate = z.object({
  id,
  email: z.string(),
  username: z.string(),
  bio: z.string().nullable(),
  profile_image_url: z.string().nullable(),
  role: z.enum(['user', 'artist', 'admin']),
  token_balance: z.number().int(),
  preferred_language: z.string(),
  created_at: timestamp,
  artist: ArtistPrivate.nullable(),
})

export const SignedIn = z.object({ user: UserPrivate, csrf_token: z.string() })

export const UserPublic = z.object({
  id,
  username: z.string(),
  bio: z.string().nullable(),
  profile_image_url: z.string().nullable(),
  role: z.string(),
  created_at: timestamp,
  artist: z.object({ artist_name: z.string(), follower_count: z.number().int() }).nullable(),
  stats: z.object({
    public_generations: z.number().int(),
    followers: z.number().int(),
    following: z.number().int(),
    style: z.object({ id, title: z.string(), training_status: z.string() }).nullable(),
  }),
  followed_by_me: readerState,
})

export const Balance = z.object({
  token_balance: z.number().int(),
  earned_token_balance: z.number().int().nullable(),
})

export const TokenPackage = z.object({
  id: z.string(),
  tokens: z.number().int(),
  price: decimal,
  currency: z.string(),
})
export const TokenPackages = z.array(TokenPackage)

export const Purchase = z.object({
  id,
  package_id: z.string(),
  order_id: z.string(),
  tokens: z.number().int(),
  amount: decimal,
  currency: z.string(),
  status: z.string(),
  created_at: timestamp,
  paid_at: timestamp.nullable(),
})

export const Checkout = z.object({
  purchase: Purchase,
  clientKey: z.string(),
  customerKey: z.string(),
  orderId: z.string(),
  orderName: z.string(),
  amount: decimal,
  currency: z.string(),
  successUrl: z.string(),
  failUrl: z.string(),
  checkoutUrl: z.string().nullable().optional(),
})

export const LedgerEntry = z.object({
  id,
  kind: z.string(),
  amount: z.number().int(),
  balance: z.enum(['tokens', 'earnings']),
  status: z.string(),
  memo: z.string().nullable(),
  related_generation_id: id.nullable(),
  related_purchase_id: id.nullable(),
  created_at: timestamp,
})

/** A cursor page of `item` (spec §6.1.3). */
export function pageOf(item) {
  return z.object({ results: z.array(item), next_cursor: z.string().nullable(), has_more: z.boolean() })
}

export const Verification = z.object({
  proof: z.enum(['content_credentials', 'watermark']).nullable(),
  artist: z.object({ id, name: z.string() }).nullable(),
  style: z.object({ id, title: z.string() }).nullable(),
  generation: z.object({ id, created_at: timestamp }).nullable(),
  content_credentials: z.object({
    state: z.enum(['absent', 'invalid', 'valid', 'trusted']),
    signer: z.string().nullable(),
    failures: z.array(z.string()),
  }),
  watermark_generation_id: id.nullable(),
  metadata: z
    .object({
      artist_name: z.string().nullable(),
      style_title: z.string().nullable(),
      generation_id: id.nullable(),
      platform: z.string().nullable(),
      created_at: z.string().nullable(),
    })
    .nullable(),
})

export const CsrfToken = z.object({ csrf_token: z.string() })

// Community (spec §6.7), notifications (§6.9), search (§6.8).
export const UserCard = z.object({ id, username: z.string(), profile_image_url: z.string().nullable() })
export const ArtistCard = UserCard.extend({ artist_name: z.string(), follower_count: z.number().int() })

export const StyleCard = z.object({
  id,
  title: z.string(),
  thumbnail_url: z.string().nullable(),
  artist: z.object({ id, artist_name: z.string() }),
})

export const GenerationCard = z.object({
  id,
  image_url: z.string().nullable(),
  thumbnail_url: z.string().nullable(),
  description: z.string().nullable(),
  prompt_tags: z.array(z.string()),
  aspect_ratio: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  is_public: z.boolean(),
  like_count: z.number().int(),
  comment_count: z.number().int(),
  liked_by_me: readerState,
  owner: UserCard,
  style: StyleCard,
  created_at: timestamp,
})

export const FollowingFeedItem = z.object({
  kind: z.enum(['generation', 'style']),
  at: timestamp,
  generation: GenerationCard.nullable().optional(),
  style: StyleCard.nullable().optional(),
})

export const LikeState = z.object({ generation_id: id, liked: z.boolean(), like_count: z.number().int() })
export const FollowState = z.object({ user_id: id, following: z.boolean(), follower_count: z.number().int() })

export const Comment = z.object({
  id,
  generation_id: id,
  parent_id: id.nullable(),
  content: z.string().nullable(),
  author: UserCard.nullable(),
  is_deleted: z.boolean(),
  is_edited: z.boolean(),
  created_at: timestamp,
  updated_at: timestamp,
  get replies() {
    return z.array(Comment).nullable().optional()
  },
})
export const CommentDeleted = z.object({ id, deleted: z.boolean() })

export const Notification = z.object({
  id,
  type: z.string(),
  message: z.string(),
  data: z.record(z.string(), z.unknown()),
  actor: UserCard.nullable(),
  is_read: z.boolean(),
  read_at: timestamp.nullable(),
  created_at: timestamp,
})
export const NotificationPage = pageOf(Notification).extend({ unread_count: z.number().int() })
export const ReadAll = z.object({ marked_read: z.number().int(), unread_count: z.number().int() })

export const SearchResults = z.object({
  styles: pageOf(StyleCard.extend({ matched_by: z.enum(['name', 'tag']) })).nullable(),
  artists: pageOf(ArtistCard.extend({ matched_by: z.enum(['name', 'username']) })).nullable(),
})

// Styles (spec §6.5).
export const TrainingProgress = z.object({
  current_epoch: z.number().int(),
  total_epochs: z.number().int(),
  progress_percent: z.number().int(),
  estimated_seconds: z.number().int(),
  last_updated: timestamp,
})

export const Style = z.object({
  id,
  title: z.string(),
  description: z.string(),
  generation_cost_tokens: z.number().int(),
  training_status: z.enum(['pending', 'training', 'completed', 'failed']),
  progress: TrainingProgress.nullable(),
  thumbnail_url: z.string().nullable(),
  artist: z.object({ user_id: id, artist_name: z.string(), username: z.string(), followed_by_me: readerState }),
  tags: z.array(z.string()),
  generation_count: z.number().int(),
  created_at: timestamp,
  trained_at: timestamp.nullable(),
  // only for the style's artist
  sample_image_urls: z.array(z.string()).nullable().optional(),
  training_image_count: z.number().int().nullable().optional(),
  training_error: z.string().nullable().optional(),
  training_scores: z.object({
    base_heldout_loss: z.number().nullable(),
    best_epoch: z.number().int(),
    epochs: z.array(z.object({
      epoch: z.number().int(),
      training_loss: z.number(),
      heldout_loss: z.number().nullable(),
      sample_image_urls: z.array(z.string()),
      adapter_kept: z.boolean(),
      in_use: z.boolean(),
    })),
  }).nullable().optional(),
})
export const Styles = z.array(Style)

// Generations (spec §6.6).
export const GenerationProgress = z.object({
  current_step: z.number().int(),
  total_steps: z.number().int(),
  progress_percent: z.number().int(),
  estimated_seconds: z.number().int(),
  last_updated: timestamp,
})

export const Generation = z.object({
  id,
  status: z.enum(['queued', 'processing', 'retrying', 'completed', 'failed']),
  user_id: id,
  style: z.object({ id, title: z.string(), artist_user_id: id, artist_name: z.string() }),
  prompt_tags: z.array(z.string()),
  description: z.string().nullable(),
  aspect_ratio: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  seed: z.number().int(),
  cost_tokens: z.number().int(),
  is_public: z.boolean(),
  image_url: z.string().nullable(),
  thumbnail_url: z.string().nullable(),
  like_count: z.number().int(),
  comment_count: z.number().int(),
  liked_by_me: readerState,
  progress: GenerationProgress.nullable(),
  queue: z.object({ position: z.number().int(), estimated_seconds: z.number().int() }).nullable(),
  attempts: z.number().int(),
  error_code: z.string().nullable(),
  created_at: timestamp,
  completed_at: timestamp.nullable(),
})
