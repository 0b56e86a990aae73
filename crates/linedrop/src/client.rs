//! The API client: where the daemon is, who we are, and one request at a time.

use std::path::Path;

use anyhow::{anyhow, bail, Context};
use serde_json::Value;

/// Where to send requests, and as which app.
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://host:port`.
    pub api: String,
    /// The bearer token.
    pub token: String,
}

impl Target {
    /// The address and token come from the flags or the environment, else from the
    /// configuration file (api.listen; the first app's token, or the default app's token
    /// file beside store.path), else from the defaults and the token file beside `db`.
    pub fn resolve(
        api: Option<&str>,
        token: Option<&str>,
        db: &Path,
        config: Option<&Path>,
    ) -> anyhow::Result<Target> {
        let config = match config {
            Some(path) => Some(linedrop_server::Config::load(Some(path), &[])?),
            None => None,
        };
        let api = match (api, &config) {
            (Some(a), _) => a.to_owned(),
            (None, Some(c)) => format!("http://{}", c.api.listen),
            (None, None) => "http://127.0.0.1:8080".to_owned(),
        };
        let token = match (token, &config) {
            (Some(t), _) => t.to_owned(),
            (None, Some(c)) if !c.apps.is_empty() => c.apps[0].token.clone(),
            (None, c) => {
                let db = c.as_ref().map_or(db, |c| c.store.path.as_path());
                let path = linedrop_server::daemon::token_path(db);
                std::fs::read_to_string(&path)
                    .map(|t| t.trim().to_owned())
                    .with_context(|| {
                        format!("no --token given and cannot read {}", path.display())
                    })?
            }
        };
        Ok(Target {
            api: api.trim_end_matches('/').to_owned(),
            token,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api)
    }

    /// Sends a request and returns its JSON answer (`null` for 204); an API error becomes
    /// one line: `code: message (HTTP status)`.
    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let url = self.url(path);
        let auth = format!("Bearer {}", self.token);
        let resp = match (method, body) {
            ("GET", _) => agent.get(&url).header("Authorization", &auth).call(),
            ("DELETE", _) => agent.delete(&url).header("Authorization", &auth).call(),
            ("POST", Some(b)) => agent.post(&url).header("Authorization", &auth).send_json(b),
            ("POST", None) => agent.post(&url).header("Authorization", &auth).send_empty(),
            _ => bail!("unsupported method {method}"),
        };
        let mut resp = resp.map_err(|e| anyhow!("cannot reach {}: {e}", self.api))?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let value: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status >= 400 {
            let code = value["error"]["code"].as_str().unwrap_or("error");
            let message = value["error"]["message"].as_str().unwrap_or("");
            bail!("{code}: {message} (HTTP {status})");
        }
        Ok(value)
    }
}
