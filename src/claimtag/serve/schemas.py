"""Request and response bodies of the HTTP API (pydantic models; they are also its OpenAPI
schema). Text that UTF-8 cannot carry (lone surrogates) is refused here, as a 422."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    model_validator,
)


def _encodable(text: str) -> str:
    """Reject lone surrogates: valid JSON, but not text the tokenizer or UTF-8 can carry."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"contains an unpaired surrogate at character {exc.start}") from None
    return text


Text = Annotated[StrictStr, AfterValidator(_encodable)]
DocId = Annotated[StrictStr, Field(max_length=256), AfterValidator(_encodable)] | StrictInt


IsoDate = Annotated[StrictStr, Field(pattern=r"^\d{4}-\d{2}-\d{2}", description=
                   "The document's date, YYYY-MM-DD: forecasts get a due date.")]


class Document(BaseModel):
    """One document of a ``/v1/tag`` request."""

    model_config = ConfigDict(extra="forbid")
    id: DocId
    text: Text
    date: IsoDate | None = None


class TagRequest(BaseModel):
    """Either one ``text`` or a list of ``documents``, each with an ``id``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"text": "The minister denied the report. Talks will resume next week."},
                     {"documents": [{"id": "a1", "text": "Prices rose 3% in May."}]}]})
    text: Text | None = None
    documents: list[Document] | None = None
    date: IsoDate | None = Field(None, description="The date of `text`, or of every document "
                                 "without its own; YYYY-MM-DD.")

    @model_validator(mode="after")
    def _one_form(self) -> TagRequest:
        if (self.text is None) == (self.documents is None):
            raise ValueError("give exactly one of 'text' or 'documents'")
        return self


class ClassifyRequest(BaseModel):
    """Sentences to classify as they are (no splitting)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"sentences": ["It will be within weeks.", "The company denied it."]}]})
    sentences: list[Text]


class SpanOut(BaseModel):
    """A piece of the text (offsets into the document, or the sentence for /v1/classify)."""

    text: str
    start: int
    end: int
    score: float


class DueOut(BaseModel):
    """When a forecast is due: an inclusive date interval and how sure the resolution is."""

    start: str
    end: str
    confidence: float
    rule: str


class PredictionOut(BaseModel):
    """The label of one sentence, its probability, and the probability of every label."""

    label: str
    score: float
    scores: dict[str, float]
    truncated: bool = False
    spans: dict[str, SpanOut] = Field(default_factory=dict, description="source, cue, when "
                                      "(models with a span head), offsets into the sentence")


class SentenceOut(BaseModel):
    """One row of the output schema: a sentence with its span, prediction and spans."""

    doc_id: str | int | None = None
    sent_index: int
    start: int
    end: int
    text: str
    label: str
    score: float
    scores: dict[str, float]
    truncated: bool = False
    model: str
    source: SpanOut | None = Field(None, description="who makes the assertion, as written")
    cue: SpanOut | None = Field(None, description="the reporting, denial or forecasting words")
    when: SpanOut | None = Field(None, description="a forecast's time phrase")
    named_source: str | None = Field(None, description="for a pronoun source: the nearest "
                                     "preceding named source of the document")
    due: DueOut | None = Field(None, description="a forecast's due interval, given a date")


class TagResponse(BaseModel):
    """The model that answered and one row per sentence, documents in request order."""

    model: str
    sentences: list[SentenceOut]


class ClassifyResponse(BaseModel):
    """The model that answered and one prediction per input sentence, in order."""

    model: str
    predictions: list[PredictionOut]


class ModelInfo(BaseModel):
    """What is being served: identity, label set, backend and measured scores."""

    name: str
    version: str
    model: str
    labels: list[str]
    display_names: dict[str, str]
    backend: str
    max_length: int
    scores: dict[str, Any] | None = Field(
        None, description="Per split, the real-text test split ('real_test') first when there "
        "is one: n, accuracy, macro_f1, per_label from the model's report.json, and 'baseline' "
        "(the TF-IDF baseline's macro_f1 and accuracy on the same split) when the report has "
        "it; null when the model has no report.")


class Status(BaseModel):
    """A probe's answer."""

    status: str
    model: str | None = None


class ErrorOut(BaseModel):
    """Every error: a machine-readable code, a message for people, the request id."""

    code: str
    message: str
    request_id: str


#: What ``POST /v1/tag?format=`` answers: JSON rows, or one self-contained HTML page.
OutputFormat = Literal["json", "html"]
