//! Chat mode: the prompt is a question, which the worker renders through the model's chat template
//! (the template is known only once the model has loaded). The app keeps the question as typed and
//! whether chat mode is on; every edit runs the question through the template again.

use super::worker::Request;
use super::App;

impl App {
    /// The request that runs `text` as the prompt: a question in the template in chat mode, else
    /// the text itself.
    pub fn prompt_request(&self, text: String) -> Request {
        if self.chat {
            Request::Chat(text)
        } else {
            Request::Prompt(text)
        }
    }

    /// Whether the loaded model has a chat template (false while it loads).
    pub fn has_chat_template(&self) -> bool {
        self.info.as_ref().is_some_and(|i| i.chat.is_some())
    }

    /// The template's end-of-turn token and its text, in chat mode.
    pub fn chat_end(&self) -> Option<(u32, String)> {
        let chat = self.info.as_ref()?.chat.as_ref().filter(|_| self.chat)?;
        Some((chat.eos_id?, chat.eos_token.clone()))
    }

    /// In chat mode, the model has written the template's end-of-turn token as its last token: the
    /// assistant's answer is over and generating stops.
    pub fn turn_over(&self) -> bool {
        let (Some((end, _)), Some(snap)) = (self.chat_end(), self.snap.as_ref()) else {
            return false;
        };
        snap.ids.len() > self.prompt_len && snap.ids.last() == Some(&end)
    }

    /// Say that the turn is over, and drop the generate presses still waiting.
    pub(super) fn stop_at_turn_end(&mut self) {
        self.queued = 0;
        let end = self.chat_end().map(|(_, t)| t).unwrap_or_default();
        self.status = format!("{end} ends the answer: generating stops here (e: ask again)");
    }

    /// What `e` opens the editor with: the question in chat mode (never the rendered template),
    /// else the text with the generated tokens.
    pub fn edit_text(&self) -> String {
        if self.chat {
            self.prompt.clone()
        } else {
            self.full_text()
        }
    }

    /// The `c` key: the question in the model's chat template, or bare again.
    pub(super) fn toggle_chat(&mut self) -> Vec<Request> {
        let Some(info) = self.info.as_ref() else {
            return Vec::new();
        };
        if info.chat.is_none() {
            self.status = format!(
                "{} has no chat template: c needs an instruction-tuned model",
                info.name
            );
            return Vec::new();
        }
        self.chat = !self.chat;
        self.status = if self.chat {
            "chat template on: the prompt is a question to the assistant (c: off)".into()
        } else {
            "chat template off: the bare text, as a base model reads it (c: on)".into()
        };
        // In chat mode the question as typed; back to bare, the question alone (without the
        // template's tokens or the answer).
        vec![self.set_prompt(self.prompt.clone())]
    }
}
