"""What operators see and may change. Money never changes here: balances, the ledger and purchases are
read-only, and every edit form lists only the moderation fields it may touch (a posted field that is not in
the form is ignored). Changes that have rules of their own go through the owning service."""

from __future__ import annotations

from typing import Any

from sqladmin import ModelView
from sqlalchemy.ext.asyncio import async_object_session
from starlette.requests import Request

from db.models import Artist, Generation, Notification, Purchase, Style, Tag, Transaction, User
from platform_api.users import service as users_service


class ReadOnlyView(ModelView):
    can_create = False
    can_edit = False
    can_delete = False
    page_size = 50


class ModerationView(ModelView):
    """Rows are made and removed by the product only; operators flip the flags in `form_columns`."""

    can_create = False
    can_delete = False
    page_size = 50


class UserAdmin(ModerationView, model=User):
    name_plural = "Users"
    icon = "fa-solid fa-user"
    column_list = [User.id, User.email, User.username, User.role, User.token_balance, User.is_active,
                   User.created_at]
    column_searchable_list = [User.email, User.username]
    column_sortable_list = [User.id, User.created_at]
    column_details_exclude_list = [User.artist]
    form_columns = [User.is_active]

    async def on_model_change(self, data: dict[str, Any], model: User, is_created: bool, request: Request) -> None:
        await users_service.set_account_active(async_object_session(model), model, data["is_active"])


class ArtistAdmin(ReadOnlyView, model=Artist):
    icon = "fa-solid fa-palette"
    column_list = [Artist.id, Artist.user_id, Artist.artist_name, Artist.verified_email,
                   Artist.earned_token_balance, Artist.follower_count, Artist.created_at]
    column_searchable_list = [Artist.artist_name]
    column_details_exclude_list = [Artist.user]


class StyleAdmin(ModerationView, model=Style):
    icon = "fa-solid fa-brush"
    column_list = [Style.id, Style.title, Style.artist_id, Style.training_status, Style.generation_cost_tokens,
                   Style.generation_count, Style.is_active, Style.created_at]
    column_searchable_list = [Style.title]
    column_sortable_list = [Style.id, Style.generation_count, Style.created_at]
    # An inactive style leaves listings and search and takes no new generations.
    form_columns = [Style.is_active]


class GenerationAdmin(ModerationView, model=Generation):
    icon = "fa-solid fa-image"
    column_list = [Generation.id, Generation.user_id, Generation.style_id, Generation.status, Generation.is_public,
                   Generation.cost_tokens, Generation.attempts, Generation.created_at]
    column_sortable_list = [Generation.id, Generation.created_at]
    form_columns = [Generation.is_public]

    async def on_model_change(self, data: dict[str, Any], model: Generation, is_created: bool,
                              request: Request) -> None:
        if data["is_public"] and model.status != "completed":
            raise ValueError("Only a completed image can be public.")


class TagAdmin(ModerationView, model=Tag):
    icon = "fa-solid fa-tag"
    column_list = [Tag.id, Tag.name, Tag.usage_count, Tag.is_active, Tag.is_flagged, Tag.created_at]
    column_searchable_list = [Tag.name]
    column_sortable_list = [Tag.name, Tag.usage_count]
    # An inactive or flagged tag no longer finds styles in search (as PATCH /api/v1/tags/{id} does).
    form_columns = [Tag.is_active, Tag.is_flagged]


class PurchaseAdmin(ReadOnlyView, model=Purchase):
    icon = "fa-solid fa-receipt"
    column_list = [Purchase.id, Purchase.user_id, Purchase.package_id, Purchase.order_id, Purchase.amount,
                   Purchase.currency, Purchase.status, Purchase.created_at, Purchase.paid_at]
    column_searchable_list = [Purchase.order_id]
    column_sortable_list = [Purchase.id, Purchase.created_at]


class LedgerAdmin(ReadOnlyView, model=Transaction):
    name = "Ledger entry"
    name_plural = "Ledger"
    icon = "fa-solid fa-book"
    column_list = [Transaction.id, Transaction.kind, Transaction.sender_id, Transaction.receiver_id,
                   Transaction.amount, Transaction.status, Transaction.related_generation_id,
                   Transaction.related_purchase_id, Transaction.created_at]
    column_sortable_list = [Transaction.id, Transaction.created_at]


class NotificationAdmin(ReadOnlyView, model=Notification):
    icon = "fa-solid fa-bell"
    column_list = [Notification.id, Notification.recipient_id, Notification.type, Notification.is_read,
                   Notification.created_at]
    column_sortable_list = [Notification.id, Notification.created_at]


VIEWS = [UserAdmin, ArtistAdmin, StyleAdmin, GenerationAdmin, TagAdmin, PurchaseAdmin, LedgerAdmin,
         NotificationAdmin]
