//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations. The
//! engine's answer types live in other modules and carry no schema derive, so they are
//! described here by mirror types that exist only for the document (`#[schema(as = ...)]`
//! keeps their engine names); tests check real answers against these field lists.

#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::error::{ErrorBody, ErrorDetail};
use super::handlers;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "chartcoder",
        description = "ICD-10-CM / ICD-10-PCS coding suggestions with evidence spans, code \
                       lookup and coders' feedback. Offsets are Unicode scalar (code point) \
                       offsets into the note as sent. Errors are `{\"error\": {\"code\", \"message\"}}`."
    ),
    paths(
        handlers::suggest,
        handlers::suggest_batch,
        handlers::code,
        handlers::search,
        handlers::add_feedback,
        handlers::feedback_history,
        handlers::healthz,
        handlers::readyz,
        handlers::metrics,
        handlers::openapi,
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        CodingDoc,
        SuggestionDoc,
        EvidenceDoc,
        RuleNoteDoc,
        CodeHitDoc,
        FeedbackRecordDoc,
        SystemDoc,
        SettingDoc,
        AssertionDoc,
        DecisionDoc,
        BatchErrorDoc,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "coding", description = "Code notes"),
        (name = "codes", description = "Look codes up"),
        (name = "feedback", description = "Coders' decisions (append-only)"),
        (name = "operations", description = "Health, readiness, metrics, this document"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "One of the tokens of `--tokens FILE` or `CHARTCODER_TOKENS`",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document as JSON text.
pub fn document() -> String {
    ApiDoc::openapi()
        .to_json()
        .unwrap_or_else(|_| "{}".to_string())
}

#[derive(Serialize, ToSchema)]
#[schema(as = System)]
#[serde(rename_all = "lowercase")]
pub enum SystemDoc {
    Icd10cm,
    Icd10pcs,
}

/// Inpatient coding reports uncertain diagnoses as if established; outpatient does not.
#[derive(Serialize, ToSchema)]
#[schema(as = Setting)]
#[serde(rename_all = "lowercase")]
pub enum SettingDoc {
    Inpatient,
    Outpatient,
}

#[derive(Serialize, ToSchema)]
#[schema(as = Assertion)]
#[serde(rename_all = "snake_case")]
pub enum AssertionDoc {
    Present,
    Negated,
    Uncertain,
    Historical,
    Family,
    Hypothetical,
    Exposure,
}

#[derive(Serialize, ToSchema)]
#[schema(as = Decision)]
#[serde(rename_all = "lowercase")]
pub enum DecisionDoc {
    Accept,
    Reject,
    Add,
}

/// `text[start..end]` (Unicode scalar offsets into the note as sent) supports the code.
#[derive(Serialize, ToSchema)]
#[schema(as = Evidence)]
pub struct EvidenceDoc {
    pub start: usize,
    pub end: usize,
    pub text: String,
    /// Section of the note (`assessment`, `history_of_present_illness`, `unknown`, ...).
    #[schema(example = "assessment")]
    pub section: String,
    /// `term` (the code's own words), `learned` (a phrase that predicted the code in coded
    /// training notes) or `similar` (closest in meaning, sentence encoder).
    #[schema(example = "term")]
    pub basis: String,
}

/// A coding-rule finding attached to a suggestion.
#[derive(Serialize, ToSchema)]
#[schema(as = RuleNote)]
pub struct RuleNoteDoc {
    /// `excludes1`, `code_first`, `use_additional`, `code_also`, `seventh_character`,
    /// `integral_symptom`, `uncertain_outpatient`, `history_of`, `family_history_of`, ...
    pub kind: String,
    pub message: String,
    /// Codes the finding refers to (dotted), if any.
    pub codes: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = Suggestion)]
pub struct SuggestionDoc {
    /// Dotted for ICD-10-CM (`E11.40`), plain for ICD-10-PCS.
    #[schema(example = "E11.40")]
    pub code: String,
    pub system: SystemDoc,
    pub title: String,
    /// In [0, 1]; suggestions are sorted by it.
    pub score: f32,
    pub assertion: AssertionDoc,
    pub evidence: Vec<EvidenceDoc>,
    pub rules: Vec<RuleNoteDoc>,
}

/// The engine's answer for one note.
#[derive(Serialize, ToSchema)]
#[schema(as = Coding)]
pub struct CodingDoc {
    /// The request's `id`, when it had one.
    pub id: Option<String>,
    /// Fiscal year of each code set: `{"icd10cm": "2026", "icd10pcs": "2026"}`.
    pub code_set: BTreeMap<String, String>,
    pub suggestions: Vec<SuggestionDoc>,
}

/// A document of a batch that could not be coded.
#[derive(Serialize, ToSchema)]
#[schema(as = BatchError)]
pub struct BatchErrorDoc {
    pub id: String,
    pub error: ErrorDetail,
}

/// A looked-up code.
#[derive(Serialize, ToSchema)]
#[schema(as = CodeHit)]
pub struct CodeHitDoc {
    pub code: String,
    pub system: SystemDoc,
    pub title: String,
    /// In [0, 1].
    pub score: f32,
}

/// A stored decision.
#[derive(Serialize, ToSchema)]
#[schema(as = FeedbackRecord)]
pub struct FeedbackRecordDoc {
    pub id: i64,
    pub document_id: String,
    /// Dotted as the code sets render it.
    pub code: String,
    pub decision: DecisionDoc,
    /// `[{"start", "end"}]` as submitted, or null.
    #[schema(value_type = Object)]
    pub evidence: serde_json::Value,
    pub coder: String,
    /// RFC 3339, UTC.
    pub at: String,
}
