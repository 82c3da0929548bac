"""Photos a member sends after `完成 N` are attached to that claim as proof."""
from __future__ import annotations

from sqlalchemy import select

from models import Claim
from models.wish import COMPLETED

from .context import Context


def attach_photo(ctx: Context, media_id: str) -> str:
    claim = ctx.session.scalar(
        select(Claim)
        .where(Claim.member_id == ctx.person.id, Claim.status == COMPLETED, Claim.proof_media_id.is_(None))
        .order_by(Claim.ended_at.desc())
        .limit(1)
    )
    if claim is None:
        return "收到照片。如果是完成心愿的照片，请先发「完成 编号」，再发照片。"
    claim.proof_media_id = media_id
    ctx.log(claim.wish, "proof", claim.wish.status, "上传了完成照片")
    return f"照片已作为心愿 {claim.wish.ref} 的完成凭证保存，谢谢！"
