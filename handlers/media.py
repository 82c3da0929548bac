"""Photos a member sends after `完成 N` are kept as proof of that claim.

The chat keeps the media id at once (WeChat keeps the file for three days); the image itself
is downloaded afterwards by the `fetch_proof` job, which raises on failure so it is retried.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Callable

from sqlalchemy import func, select

from bot.jobs import FETCH_PROOF
from models import BadInput, Claim, Proof, utcnow
from models.wish import COMPLETED

from .context import Context

PHOTO_WINDOW = timedelta(hours=24)  # photos sent this long after `完成 N` belong to it
MAX_PHOTOS = 9
_IMAGE_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG": "image/png", b"GIF8": "image/gif"}


def attach_photo(ctx: Context, media_id: str) -> str:
    claim = ctx.session.scalar(
        select(Claim)
        .where(Claim.member_id == ctx.person.id, Claim.status == COMPLETED,
               Claim.ended_at >= utcnow() - PHOTO_WINDOW)
        .order_by(Claim.ended_at.desc(), Claim.id.desc())
        .limit(1)
    )
    if claim is None:
        return "收到照片。如果是完成心愿的照片，请先发「完成 编号」，再发照片。"
    wish = claim.wish
    count = ctx.session.scalar(select(func.count(Proof.id)).where(Proof.claim_id == claim.id)) or 0
    if count >= MAX_PHOTOS:
        return f"心愿 {wish.ref} 已经保存了{MAX_PHOTOS}张照片，够了，谢谢！"
    pic_url = ctx.inbound.pic_url if ctx.inbound else None
    proof = Proof(claim_id=claim.id, media_id=media_id, pic_url=pic_url or None)
    ctx.session.add(proof)
    ctx.session.flush()
    ctx.change(wish, "proof", note=f"第{count + 1}张完成照片")
    ctx.run_after_commit(FETCH_PROOF, proof.id)
    return f"照片已作为心愿 {wish.ref} 的完成凭证保存，谢谢！"


def attach_uploaded_photo(ctx: Context, wish_id: int, data: bytes) -> str:
    """A photo uploaded on the wish's phone page with 完成: kept at once, nothing to fetch."""
    kind = image_type(data)
    if kind == "application/octet-stream":
        raise BadInput("只能上传照片（JPG、PNG 或 GIF）。")
    claim = ctx.session.scalar(
        select(Claim).where(Claim.wish_id == wish_id, Claim.member_id == ctx.person.id, Claim.status == COMPLETED)
        .order_by(Claim.ended_at.desc(), Claim.id.desc()).limit(1))
    if claim is None:
        raise BadInput("请先报告完成，再上传照片。")
    ctx.session.add(Proof(claim_id=claim.id, media_id="web-upload", image=data, content_type=kind,
                          fetched_at=utcnow()))
    ctx.change(claim.wish, "proof", note="网页上传的完成照片")
    return f"照片已作为心愿 {claim.wish.ref} 的完成凭证保存。"


def image_type(data: bytes) -> str:
    return next((kind for magic, kind in _IMAGE_TYPES.items() if data.startswith(magic)),
                "application/octet-stream")


def fetch_proof(db, download: Callable[[str], bytes], proof_id: int) -> None:
    """The job: download a proof's image once and store it. `download` is
    OfficialAccountAPI.download_media; its errors propagate so the job is retried."""
    with db.sessions() as session:
        proof = session.get(Proof, proof_id)
        if proof is None or proof.fetched_at is not None:
            return
        media_id = proof.media_id
    data = download(media_id)  # outside any transaction: it is a network call
    with db.transaction() as session:
        proof = session.get(Proof, proof_id)
        proof.image = data
        proof.content_type = image_type(data)
        proof.fetched_at = utcnow()
