"""Typed errors the services raise; web/ and api/ each map them in one place."""

from flask_babel import ngettext

from .i18n import lazy_gettext as _l


class ServiceError(Exception):
    """Base of every expected failure: a machine code, an HTTP status and a message."""

    code = "error"
    status = 400
    default_message = _l("The request could not be completed.")

    def __init__(self, message=None, **extra):
        super().__init__(message or self.default_message)
        self._message = message
        self.extra = extra

    @property
    def message(self):
        return str(self._message or self.default_message)

    def payload(self):
        """The JSON error object of API.md."""
        body = {"code": self.code, "message": self.message}
        body.update(self.extra)
        return body


class InvalidInput(ServiceError):
    code = "invalid_input"
    status = 422
    default_message = _l("Please correct the highlighted fields.")

    def __init__(self, fields=None, message=None, status=None):
        fields = {name: [str(m) for m in msgs] for name, msgs in (fields or {}).items()}
        super().__init__(message, fields=fields)
        if status:
            self.status = status

    @property
    def fields(self):
        return self.extra["fields"]


class CaptchaRequired(ServiceError):
    code = "captcha_required"
    default_message = _l("Please enter the characters shown in the picture.")


class CaptchaInvalid(ServiceError):
    code = "captcha_invalid"
    default_message = _l("The characters did not match the picture. A new picture is shown; please try again.")


class InvalidCode(ServiceError):
    code = "invalid_code"

    def __init__(self, remaining):
        message = ngettext("The code is wrong; %(num)d try left.",
                           "The code is wrong; %(num)d tries left.", remaining)
        super().__init__(message, remaining_attempts=remaining)


class WrongFactorCode(ServiceError):
    """A wrong (or already used) code from the authenticator app, or a wrong recovery code."""

    code = "invalid_code"
    default_message = _l("The code is not right. Check the time on your phone and enter the newest code.")

    def __init__(self, message=None, remaining=None):
        extra = {} if remaining is None else {"remaining_attempts": remaining}
        super().__init__(message, **extra)


class CodeExpired(ServiceError):
    code = "code_expired"
    default_message = _l("This code has expired or was already used. Please request a new one.")


class InvalidCredentials(ServiceError):
    code = "invalid_credentials"
    status = 401
    default_message = _l("The login name or password is incorrect.")

    def __init__(self, remaining_attempts=None, lock_seconds=None):
        """`remaining_attempts`: wrong passwords left before a lock of `lock_seconds` (said from
        the attempts.WARN_AFTER-th failure on, alike for unknown login names)."""
        if remaining_attempts is None:
            super().__init__()
            return
        message = ngettext(
            "The login name or password is incorrect. After %(num)d more wrong try, sign-in is "
            "locked for %(when)s.",
            "The login name or password is incorrect. After %(num)d more wrong tries, sign-in is "
            "locked for %(when)s.", remaining_attempts, when=humanize_seconds(lock_seconds))
        super().__init__(message, remaining_attempts=remaining_attempts)


class Unauthorized(ServiceError):
    code = "unauthorized"
    status = 401
    default_message = _l("Please sign in first.")


class ReauthenticationRequired(ServiceError):
    code = "reauthentication_required"
    status = 401
    default_message = _l("Please confirm your password to continue.")


class Forbidden(ServiceError):
    code = "forbidden"
    status = 403
    default_message = _l("You do not have permission to do this.")


class SecondFactorRequired(ServiceError):
    """ADMIN_REQUIRE_MFA: an admin without a passkey or authenticator app, or an action that
    needs the admin's own second factor proven just now."""
    code = "second_factor_required"
    status = 403
    default_message = _l("Set up an authenticator app or a passkey to use the admin area.")


class NotFound(ServiceError):
    code = "not_found"
    status = 404
    default_message = _l("Not found.")


class Conflict(ServiceError):
    code = "conflict"
    status = 409
    default_message = _l("This conflicts with existing data.")

    def __init__(self, fields=None, message=None):
        fields = {name: [str(m) for m in msgs] for name, msgs in (fields or {}).items()}
        super().__init__(message, fields=fields)


class AccountLocked(ServiceError):
    code = "account_locked"
    status = 423

    def __init__(self, retry_after):
        from flask import current_app
        from flask_babel import gettext

        from .timefmt import display_in

        when, until = humanize_seconds(retry_after), display_in(retry_after)
        if current_app.config["LOGIN_BY_CODE"]:
            message = gettext(
                "Too many wrong passwords: sign-in with the password is locked for %(when)s more, "
                "until %(until)s. Meanwhile you can sign in with an emailed code, or reset your "
                "password by emailed code (that also lifts the lock at once).", when=when, until=until)
        else:
            message = gettext(
                "Too many wrong passwords: sign-in with the password is locked for %(when)s more, "
                "until %(until)s. Meanwhile you can reset your password by emailed code (that also "
                "lifts the lock at once).", when=when, until=until)
        super().__init__(message, retry_after=int(retry_after))

    @property
    def retry_after(self):
        return self.extra["retry_after"]


class ReauthLocked(AccountLocked):
    """The password can't be confirmed while the account is locked: when, and what works now."""

    def __init__(self, retry_after):
        from flask_babel import gettext

        from .timefmt import display_in

        super().__init__(retry_after)
        self._message = gettext(
            "Your password cannot be confirmed now: after too many wrong passwords it is locked "
            "for %(when)s more, until %(until)s. You stay signed in; try again after that time. "
            "Sign-in by emailed code keeps working meanwhile. Forgot your password? Reset it by "
            "emailed code: that also lifts the lock at once.",
            when=humanize_seconds(retry_after), until=display_in(retry_after))


class RateLimited(ServiceError):
    code = "rate_limited"
    status = 429
    captcha_kept = False  # set by captcha.kept_if_limited: the solved captcha still works

    def __init__(self, retry_after, message=None):
        from flask_babel import gettext

        retry_after = max(1, int(retry_after + 0.999))
        super().__init__(message or gettext("Too many requests. Please try again in %(when)s.",
                                            when=humanize_seconds(retry_after)),
                         retry_after=retry_after)

    @property
    def retry_after(self):
        return self.extra["retry_after"]


class IpBlocked(RateLimited):
    """The client's network is blocked (automatically after too many limit answers, or by an
    admin): every page and endpoint answers this until the block ends."""

    def __init__(self, retry_after):
        from flask_babel import gettext

        from .timefmt import display_in

        retry_after = max(1, int(retry_after + 0.999))
        super().__init__(retry_after, gettext(
            "Too many requests came from your network, so it is blocked for %(when)s more, until "
            "%(until)s. Please wait until then before trying again; requests meanwhile do not "
            "shorten the wait. If you share this network (an office, a school) and think this is "
            "a mistake, contact the site's support.",
            when=humanize_seconds(retry_after), until=display_in(retry_after)))


class RegistrationClosed(ServiceError):
    code = "forbidden"
    status = 403
    default_message = _l("Registration is closed.")


class Unavailable(ServiceError):
    code = "unavailable"
    status = 503
    default_message = _l("The service is temporarily unavailable. Please try again shortly.")


def humanize_seconds(seconds):
    """'45 seconds', '3 minutes', '2 hours' in the current language."""
    seconds = int(seconds)
    if seconds < 60:
        return ngettext("%(num)d second", "%(num)d seconds", seconds)
    if seconds < 3600:
        minutes = (seconds + 59) // 60
        return ngettext("%(num)d minute", "%(num)d minutes", minutes)
    hours = (seconds + 3599) // 3600
    return ngettext("%(num)d hour", "%(num)d hours", hours)
