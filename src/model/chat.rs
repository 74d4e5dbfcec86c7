//! A model's chat template (the Jinja text in a GGUF file's `tokenizer.chat_template` or a folder's
//! tokenizer_config.json), rendered with minijinja as transformers' `apply_chat_template` renders it:
//! one user message and the generation prompt, so the model answers as the assistant.

use color_eyre::eyre::{eyre, Result};
use minijinja::{context, Environment, Error, ErrorKind};

use super::tokenizer::TextCodec;
use crate::error::Hinted;

/// A chat template and the special tokens it names.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatTemplate {
    pub source: String,
    pub bos_token: String,
    pub eos_token: String,
    /// The token that ends the assistant's turn: generation stops there.
    pub eos_id: Option<u32>,
}

impl ChatTemplate {
    /// A template with BOS and EOS named by id (a GGUF file's metadata).
    pub fn new(source: String, codec: &TextCodec, bos: Option<u32>, eos: Option<u32>) -> Self {
        let name = |id: Option<u32>| id.map(|i| codec.token_str(i)).unwrap_or_default();
        Self {
            source,
            bos_token: name(bos),
            eos_token: name(eos),
            eos_id: eos,
        }
    }

    /// The template of a Hugging Face folder: tokenizer_config.json's `chat_template` (a string, or a
    /// list of named templates whose "default" is taken) and its `bos_token`/`eos_token`.
    pub fn from_tokenizer_config(json: &serde_json::Value, codec: &TextCodec) -> Option<Self> {
        let source = match json.get("chat_template")? {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(list) => list
                .iter()
                .find(|t| t.get("name").and_then(|n| n.as_str()) == Some("default"))?
                .get("template")?
                .as_str()?
                .to_string(),
            _ => return None,
        };
        // A token is written as a string, or as {"content": "..."} (AddedToken).
        let token = |key: &str| {
            json.get(key).and_then(|v| {
                v.as_str()
                    .map(str::to_string)
                    .or_else(|| v.get("content")?.as_str().map(str::to_string))
            })
        };
        let eos_token = token("eos_token").unwrap_or_default();
        let eos_id = codec.token_id(&eos_token);
        Some(Self {
            source,
            bos_token: token("bos_token").unwrap_or_default(),
            eos_token,
            eos_id,
        })
    }

    /// The text the model reads for one user `question`, ending with the assistant's turn opened.
    pub fn render(&self, question: &str) -> Result<String> {
        let mut env = Environment::new();
        // Templates call Python's string methods (.strip(), .startswith(), …) as transformers allows.
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |msg: String| -> Result<String, Error> {
            Err(Error::new(ErrorKind::InvalidOperation, msg))
        });
        let bad = |e: Error| {
            eyre!(Hinted::new(
                format!("the model's chat template cannot be rendered: {e}"),
                "leave out --chat and write the prompt yourself",
            ))
        };
        env.add_template("chat", &self.source).map_err(bad)?;
        let template = env.get_template("chat").map_err(bad)?;
        template
            .render(context! {
                messages => vec![context! { role => "user", content => question }],
                add_generation_prompt => true,
                bos_token => &self.bos_token,
                eos_token => &self.eos_token,
            })
            .map_err(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(source: &str) -> ChatTemplate {
        ChatTemplate {
            source: source.into(),
            bos_token: "<s>".into(),
            eos_token: "</s>".into(),
            eos_id: Some(2),
        }
    }

    #[test]
    fn a_chatml_template_wraps_the_question_and_opens_the_assistants_turn() {
        let t = template(
            "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
        );
        assert_eq!(
            t.render("Hi?").unwrap(),
            "<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn python_string_methods_and_special_tokens_work() {
        let t = template("{{ bos_token }}{{ messages[0]['content'].strip() }}{{ eos_token }}");
        assert_eq!(t.render("  q  ").unwrap(), "<s>q</s>");
    }

    #[test]
    fn raise_exception_and_bad_templates_are_errors() {
        let e = template("{{ raise_exception('only user and assistant roles') }}")
            .render("q")
            .unwrap_err();
        assert!(
            e.to_string().contains("only user and assistant roles"),
            "{e}"
        );
        assert!(template("{% for %}").render("q").is_err());
    }
}
