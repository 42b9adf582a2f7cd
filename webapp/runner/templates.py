"""Render prompt templates: Jinja in a sandbox, undefined names are errors."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment, SecurityError

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


class RenderError(Exception):
    """A template could not be rendered; the message says what to fix."""


@dataclass(frozen=True)
class Rendered:
    """A rendered template: `prompt` is stored on the step run, `text` is its plain-text form."""

    prompt: Any  # str for text templates, [{"role", "content"}] for chat ones
    text: str
    messages: list[dict[str, str]] | None  # chat templates only


@lru_cache(maxsize=1024)
def _compile(source: str) -> Template:
    return _ENV.from_string(source)


def render_string(source: str, context: dict[str, Any], where: str) -> str:
    """Render one Jinja string; raise RenderError naming `where` and the cause."""
    try:
        return _compile(source).render(context)
    except TemplateSyntaxError as exc:
        raise RenderError(f"Template syntax error in {where}, line {exc.lineno}: {exc.message}") from exc
    except UndefinedError as exc:
        raise RenderError(f"Undefined variable in {where}: {exc.message}. {_available(context)}") from exc
    except SecurityError as exc:
        raise RenderError(f"Template in {where} tried something the sandbox forbids: {exc}") from exc
    except TemplateError as exc:
        raise RenderError(f"Template error in {where}: {exc.message or exc}") from exc
    except Exception as exc:  # a filter or an expression raised (e.g. division by zero)
        raise RenderError(f"Template error in {where}: {type(exc).__name__}: {exc}") from exc


def render_template(template: dict[str, Any], context: dict[str, Any], step_name: str) -> Rendered:
    """Render a step's prompt_template: `text` gives one prompt, `chat` renders every message."""
    kind = template.get("type")
    where = f"step '{step_name}'"
    if kind == "text":
        source = template.get("template", "")
        if not isinstance(source, str):
            raise RenderError(f"The text template of {where} must have a string 'template'")
        text = render_string(source, context, where)
        return Rendered(prompt=text, text=text, messages=None)
    if kind == "chat":
        messages = template.get("messages")
        if not isinstance(messages, list) or not messages:
            raise RenderError(f"The chat template of {where} needs a non-empty 'messages' list")
        rendered: list[dict[str, str]] = []
        for i, message in enumerate(messages):
            if not isinstance(message, dict) or not isinstance(message.get("content"), str):
                raise RenderError(f"Message {i + 1} of {where} needs a string 'content'")
            role = message.get("role", "user")
            content = render_string(message["content"], context, f"{where}, message {i + 1}")
            rendered.append({"role": str(role), "content": content})
        return Rendered(prompt=rendered, text=last_user_message(rendered), messages=rendered)
    raise RenderError(
        f"{where.capitalize()} has a prompt_template of type {kind!r}; the runner understands "
        "'text' (with 'template') and 'chat' (with 'messages')"
    )


def last_user_message(messages: list[dict[str, str]]) -> str:
    """Return the content of the last user message (else of the last message)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            return message["content"]
    return messages[-1]["content"] if messages else ""


def _available(context: dict[str, Any]) -> str:
    inputs = context.get("inputs") or {}
    steps = context.get("steps") or {}
    keys = ", ".join(sorted(map(str, inputs))) if isinstance(inputs, dict) else ""
    names = ", ".join(repr(n) for n in steps)
    return (
        f"Available: inputs ({'keys: ' + keys if keys else 'no keys'}), "
        f"steps ({'outputs of ' + names if names else 'no earlier outputs yet'}), last."
    )
