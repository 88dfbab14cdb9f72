//! Language models for agents: an OpenAI-compatible chat-completions client
//! and a deterministic offline provider for development and tests.

use crate::call_error::CallError;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Request {
    pub messages: Vec<Message>,
    pub model: Option<String>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub content: String,
    pub model: String,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

pub trait LlmProvider: Send + Sync {
    /// `max_response_bytes` caps the provider's answer.
    fn complete(
        &self,
        request: Request,
        max_response_bytes: u64,
    ) -> BoxFuture<'_, Result<Completion, CallError>>;

    /// The same provider, called with someone else's API key (a workspace's
    /// own), if it takes keys at all.
    fn with_api_key(&self, _key: &str) -> Option<std::sync::Arc<dyn LlmProvider>> {
        None
    }

    /// The model asked when a request names none.
    fn default_model(&self) -> &str {
        OFFLINE_MODEL
    }

    /// The answer's length in tokens when a request sets no `max_tokens`
    /// (the host then sets this, so that a call's worst case is known).
    fn default_max_tokens(&self) -> u32 {
        60
    }
}

/// The offline stand-in's name: it answers every model, and costs nothing.
pub const OFFLINE_MODEL: &str = "offline";

/// Tokens of the language model: of prompts (input) and answers (output).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
}

impl Tokens {
    pub fn total(self) -> u64 {
        self.input.saturating_add(self.output)
    }
}

/// A run's use of the language model, as the provider reported it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub calls: u64,
    pub tokens: Tokens,
}

/// What a meter holds for one call until it is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeterHold {
    pub call: u64,
    /// Credits held for the call's worst case.
    pub held: i64,
}

/// Prices model calls and makes someone pay for them: before a call it
/// holds the call's worst case against the payer (or refuses the call with
/// a `limit` error, or a model it does not offer with `denied`); after it,
/// it settles to the tokens the provider reported (`None` when the call
/// failed: nothing is charged).
pub trait LlmMeter: Send + Sync {
    fn hold<'a>(
        &'a self,
        model: &'a str,
        worst: Tokens,
    ) -> BoxFuture<'a, Result<MeterHold, CallError>>;
    fn settle(&self, hold: MeterHold, model: &str, used: Option<Tokens>) -> BoxFuture<'_, ()>;
}

/// An upper bound on a prompt's tokens: no token of a chat model is shorter
/// than a byte, and each message costs a few tokens of framing.
pub fn prompt_bound(messages: &[Message]) -> u64 {
    let framing = 4;
    messages
        .iter()
        .map(|m| (m.content.len() + m.role.len()) as u64 + framing)
        .sum::<u64>()
        + 3
}

/// The provider `AGENTDECK_LLM_BASE_URL` names, or the offline one.
pub fn from_env() -> Box<dyn LlmProvider> {
    match std::env::var("AGENTDECK_LLM_BASE_URL") {
        Ok(base_url) if !base_url.trim().is_empty() => Box::new(OpenAiCompatible::new(
            base_url,
            std::env::var("AGENTDECK_LLM_API_KEY").ok(),
            std::env::var("AGENTDECK_LLM_MODEL").unwrap_or_else(|_| "gpt-4o-mini".into()),
        )),
        _ => Box::new(Offline),
    }
}

/// A chat-completions endpoint: `POST {base_url}/chat/completions`.
pub struct OpenAiCompatible {
    base_url: String,
    api_key: Option<String>,
    model: String,
    client: reqwest::Client,
    timeout: Duration,
}

impl OpenAiCompatible {
    pub fn new(base_url: String, api_key: Option<String>, model: String) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key: api_key.filter(|key| !key.is_empty()),
            model,
            client: reqwest::Client::new(),
            timeout: Duration::from_secs(120),
        }
    }
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: &'a [Message],
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
}

#[derive(Deserialize)]
struct ChatResponse {
    model: Option<String>,
    choices: Vec<Choice>,
    usage: Option<ChatUsage>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    content: Option<String>,
}

#[derive(Deserialize)]
struct ChatUsage {
    prompt_tokens: u32,
    completion_tokens: u32,
}

impl LlmProvider for OpenAiCompatible {
    fn with_api_key(&self, key: &str) -> Option<std::sync::Arc<dyn LlmProvider>> {
        Some(std::sync::Arc::new(Self {
            base_url: self.base_url.clone(),
            api_key: Some(key.to_owned()).filter(|key| !key.is_empty()),
            model: self.model.clone(),
            client: self.client.clone(),
            timeout: self.timeout,
        }))
    }

    fn default_model(&self) -> &str {
        &self.model
    }

    fn default_max_tokens(&self) -> u32 {
        1024
    }

    fn complete(
        &self,
        request: Request,
        max_response_bytes: u64,
    ) -> BoxFuture<'_, Result<Completion, CallError>> {
        Box::pin(async move {
            if request.messages.is_empty() {
                return Err(CallError::Invalid("the request has no messages".into()));
            }
            let model = request.model.as_deref().unwrap_or(&self.model);
            let body = ChatRequest {
                model,
                messages: &request.messages,
                temperature: request.temperature,
                max_tokens: request.max_tokens,
            };
            let mut call = self
                .client
                .post(format!("{}/chat/completions", self.base_url))
                .json(&body)
                .timeout(self.timeout);
            if let Some(key) = &self.api_key {
                call = call.bearer_auth(key);
            }
            let response = call.send().await.map_err(|error| {
                tracing::warn!(%error, "language model request failed");
                CallError::Failed(if error.is_timeout() {
                    "the language model did not answer in time".into()
                } else {
                    "the language model could not be reached".into()
                })
            })?;
            let status = response.status();
            let bytes = crate::http::read_capped(response, max_response_bytes)
                .await
                .map_err(|error| {
                    CallError::Limit(format!("the language model's answer {error}"))
                })?;
            if !status.is_success() {
                let detail = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
                tracing::warn!(%status, %detail, "language model refused a request");
                return Err(CallError::Failed(format!(
                    "the language model answered {status}"
                )));
            }
            let parsed: ChatResponse = serde_json::from_slice(&bytes).map_err(|_| {
                CallError::Failed("the language model's answer was not a chat completion".into())
            })?;
            let content = parsed
                .choices
                .into_iter()
                .next()
                .and_then(|choice| choice.message.content)
                .ok_or_else(|| {
                    CallError::Failed("the language model answered without a message".into())
                })?;
            let usage = parsed.usage.unwrap_or(ChatUsage {
                prompt_tokens: 0,
                completion_tokens: 0,
            });
            Ok(Completion {
                content,
                model: parsed.model.unwrap_or_else(|| model.to_owned()),
                prompt_tokens: usage.prompt_tokens,
                completion_tokens: usage.completion_tokens,
            })
        })
    }
}

/// A deterministic stand-in for a model, for development and tests: it
/// answers with the first sentences of the last user message, as many words
/// as `max_tokens` allows (default 60), so summarising agents give sensible
/// output offline and the same request always gets the same answer.
pub struct Offline;

impl LlmProvider for Offline {
    fn complete(
        &self,
        request: Request,
        _max_response_bytes: u64,
    ) -> BoxFuture<'_, Result<Completion, CallError>> {
        Box::pin(async move {
            let prompt = request
                .messages
                .iter()
                .rev()
                .find(|message| message.role == "user")
                .ok_or_else(|| CallError::Invalid("the request has no user message".into()))?;
            let words: Vec<&str> = prompt.content.split_whitespace().collect();
            let budget = request.max_tokens.unwrap_or(60).max(1) as usize;
            let mut content = words
                .iter()
                .take(budget)
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            // End on a sentence boundary when one falls in the second half.
            if let Some(end) = content
                .rfind(['.', '!', '?'])
                .filter(|end| *end > content.len() / 2)
            {
                content.truncate(end + 1);
            }
            let prompt_tokens: usize = request
                .messages
                .iter()
                .map(|message| message.content.split_whitespace().count())
                .sum();
            Ok(Completion {
                completion_tokens: u32::try_from(content.split_whitespace().count())
                    .unwrap_or(u32::MAX),
                content,
                model: "offline".into(),
                prompt_tokens: u32::try_from(prompt_tokens).unwrap_or(u32::MAX),
            })
        })
    }
}
