"""Notification text in the reader's language, rendered from the stored type and data when listed, so a
notification reads in whatever language its reader uses today."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from platform_api.i18n import Language

# Types with several wordings pick one by a variant: a comment that answers another comment is a reply; a
# training notification without the style's title says "your style"; a finished one names the epoch it chose.
_TEMPLATES: dict[tuple[str, str], dict[Language, str]] = {
    ("follow", ""): {
        "en": "{actor} started following you.",
        "ko": "{actor}님이 회원님을 팔로우하기 시작했습니다.",
    },
    ("like", ""): {
        "en": "{actor} liked your image.",
        "ko": "{actor}님이 회원님의 이미지를 좋아합니다.",
    },
    ("comment", ""): {
        "en": "{actor} commented on your image.",
        "ko": "{actor}님이 회원님의 이미지에 댓글을 남겼습니다.",
    },
    ("comment", "reply"): {
        "en": "{actor} replied to your comment.",
        "ko": "{actor}님이 회원님의 댓글에 답글을 남겼습니다.",
    },
    ("generation_complete", ""): {
        "en": "Your image is ready.",
        "ko": "이미지 생성이 완료되었습니다.",
    },
    ("generation_failed", ""): {
        "en": "Your image could not be generated. Your tokens were refunded.",
        "ko": "이미지를 생성하지 못했습니다. 사용한 토큰은 환불되었습니다.",
    },
    ("style_training_complete", ""): {
        "en": "Your style “{style_title}” is trained and ready to use.",
        "ko": "스타일 “{style_title}” 학습이 완료되어 바로 사용할 수 있습니다.",
    },
    ("style_training_complete", "epoch"): {
        "en": "Your style “{style_title}” is trained and ready to use, drawing with epoch {epoch}, its best. "
              "You can choose another epoch on the style's page.",
        "ko": "스타일 “{style_title}” 학습이 완료되어 바로 사용할 수 있습니다. 가장 좋은 {epoch}번째 에폭으로 그립니다. "
              "스타일 페이지에서 다른 에폭을 고를 수 있습니다.",
    },
    ("style_training_failed", ""): {
        "en": "Training your style “{style_title}” failed.",
        "ko": "스타일 “{style_title}” 학습에 실패했습니다.",
    },
    ("style_training_complete", "untitled"): {
        "en": "Your style is trained and ready to use.",
        "ko": "스타일 학습이 완료되어 바로 사용할 수 있습니다.",
    },
    ("style_training_failed", "untitled"): {
        "en": "Training your style failed.",
        "ko": "스타일 학습에 실패했습니다.",
    },
}

# When the actor's account is gone or deactivated.
_SOMEONE: dict[Language, str] = {"en": "Someone", "ko": "누군가"}


def _variant(type: str, data: Mapping[str, Any]) -> str:
    if type == "comment" and data.get("parent_comment_id"):
        return "reply"
    if type.startswith("style_training_") and not data.get("style_title"):
        return "untitled"
    if type == "style_training_complete" and data.get("epoch"):
        return "epoch"
    return ""


def render(type: str, data: Mapping[str, Any], actor_name: str | None, language: Language) -> str:
    template = _TEMPLATES[(type, _variant(type, data))][language]
    return template.format_map({"actor": actor_name or _SOMEONE[language], "style_title": data.get("style_title"),
                                "epoch": data.get("epoch")})
