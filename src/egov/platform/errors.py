"""Domain errors that every layer understands: field-level rules, not found, denied, conflict."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    """One broken rule on one input field, said in Vietnamese and in English.

    `field` is the input's name as the user or integrator sent it (``personal_id``,
    ``row 14: birth_date``); `rule` is a stable machine code (``personal_id.century``)
    that API clients may switch on.
    """

    field: str
    rule: str
    message_vi: str
    message_en: str

    def message(self, locale: str) -> str:
        return self.message_en if locale.startswith("en") else self.message_vi

    def as_dict(self, locale: str = "vi") -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "message": self.message(locale)}


class DomainError(Exception):
    """Base of every error a service raises on purpose; the web layer maps each to a status."""

    status: int = 400
    code: str = "domain_error"
    title_vi: str = "Yêu cầu không hợp lệ"
    title_en: str = "Invalid request"

    def __init__(self, detail_vi: str = "", detail_en: str = "", *, errors: list[FieldError] | None = None):
        self.detail_vi = detail_vi or self.title_vi
        self.detail_en = detail_en or self.title_en
        self.errors: list[FieldError] = list(errors or [])
        super().__init__(self.detail_en)

    def detail(self, locale: str) -> str:
        return self.detail_en if locale.startswith("en") else self.detail_vi

    def title(self, locale: str) -> str:
        return self.title_en if locale.startswith("en") else self.title_vi


class ValidationFailed(DomainError):
    """One or more input fields break a rule; nothing was changed."""

    status = 422
    code = "validation_failed"
    title_vi = "Dữ liệu không hợp lệ"
    title_en = "Validation failed"

    def __init__(self, errors: list[FieldError], detail_vi: str = "", detail_en: str = ""):
        first = errors[0] if errors else None
        super().__init__(
            detail_vi or (first.message_vi if first else ""),
            detail_en or (first.message_en if first else ""),
            errors=errors,
        )

    @classmethod
    def single(cls, field: str, rule: str, message_vi: str, message_en: str) -> ValidationFailed:
        return cls([FieldError(field, rule, message_vi, message_en)])


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title_vi = "Không tìm thấy"
    title_en = "Not found"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"
    title_vi = "Không có quyền truy cập"
    title_en = "Forbidden"


class AuthenticationRequired(DomainError):
    status = 401
    code = "unauthenticated"
    title_vi = "Cần đăng nhập"
    title_en = "Authentication required"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title_vi = "Xung đột dữ liệu"
    title_en = "Conflict"


class TooManyAttempts(DomainError):
    """Guessing is being slowed down; `retry_after` says how many seconds to wait."""

    status = 429
    code = "too_many_attempts"
    title_vi = "Quá nhiều lần thử"
    title_en = "Too many attempts"

    def __init__(self, retry_after: int, detail_vi: str = "", detail_en: str = ""):
        self.retry_after = max(1, int(retry_after))
        super().__init__(
            detail_vi or f"Vui lòng thử lại sau {self.retry_after} giây.",
            detail_en or f"Please try again in {self.retry_after} seconds.",
        )


@dataclass
class ErrorCollector:
    """Gathers every broken rule before raising once, so a form shows all problems together."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, field_name: str, rule: str, message_vi: str, message_en: str) -> None:
        self.errors.append(FieldError(field_name, rule, message_vi, message_en))

    def extend(self, errors: list[FieldError]) -> None:
        self.errors.extend(errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)
