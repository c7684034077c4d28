"""The page shape shared by every "mail me a code" form (code sign-in, password reset)."""

from flask import flash, redirect, render_template, request, session, url_for

from ..errors import ServiceError
from .auth_helpers import apply_error
from .forms import EmailCaptchaForm


def code_request_page(template, pending_key, send, sent_message, verify_endpoint, **pending):
    """Ask `send(email, captcha_id, captcha_answer, captcha_pow)` for a code; on success remember the flow
    under `pending_key` (with `pending`), flash `sent_message(answer)` and go to the code page.
    Coming back from the code page ("send a new code"), the address is filled in again."""
    form = EmailCaptchaForm()
    status = 200
    if form.validate_on_submit():
        captcha_id = session.pop("captcha_id", None)
        try:
            answer = send(form.email.data, captcha_id, form.captcha.data, form.captcha_pow.data)
        except ServiceError as error:
            status = apply_error(form, error, captcha_id)
        else:
            session[pending_key] = {"email": form.email.data, "masked": answer["email"], **pending}
            flash(sent_message(answer), "success")
            return redirect(url_for(verify_endpoint))
    elif request.method == "GET" and not form.email.data:
        form.email.data = session.get(pending_key, {}).get("email")
    return render_template(template, form=form), status
