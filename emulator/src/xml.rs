//! STS's AWS Query response shapes: `<{Action}Response>` documents and the
//! `<ErrorResponse>` envelope, plus [`StsError`], the error every STS code
//! path returns.

/// The XML namespace of STS API version 2011-06-15.
pub const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// An STS error: HTTP status, AWS error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsError {
    /// HTTP status code of the response.
    pub status: u16,
    /// AWS error code (`<Code>`), e.g. `AccessDenied`.
    pub code: &'static str,
    /// Human-readable message (`<Message>`).
    pub message: String,
}

impl StsError {
    /// An error with an explicit status.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        StsError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 `ValidationError`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(400, "ValidationError", message)
    }

    /// 403 `SignatureDoesNotMatch`.
    pub fn signature(message: impl Into<String>) -> Self {
        Self::new(403, "SignatureDoesNotMatch", message)
    }

    /// 403 `AccessDenied`.
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(403, "AccessDenied", message)
    }

    /// `InternalFailure` (500), STS's answer to an unknown server error.
    pub fn internal_failure() -> Self {
        Self::new(
            500,
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
        )
    }

    /// `Sender` for client errors, `Receiver` for server errors.
    pub fn fault_type(&self) -> &'static str {
        if self.status >= 500 {
            "Receiver"
        } else {
            "Sender"
        }
    }

    /// The `<ErrorResponse>` document.
    pub fn to_xml(&self, request_id: &str) -> String {
        format!(
            "<ErrorResponse xmlns=\"{NAMESPACE}\">\n  <Error>\n    <Type>{}</Type>\n    \
             <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  \
             <RequestId>{}</RequestId>\n</ErrorResponse>\n",
            self.fault_type(),
            self.code,
            escape(&self.message),
            escape(request_id)
        )
    }
}

impl std::fmt::Display for StsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

/// Escapes text for an XML element body or attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A tree of elements to put inside `<{Action}Result>`.
pub enum Node {
    /// `<name>text</name>`
    Text(&'static str, String),
    /// `<name>children...</name>`
    Parent(&'static str, Vec<Node>),
}

impl Node {
    fn write(&self, out: &mut String, depth: usize) {
        let pad = "  ".repeat(depth);
        match self {
            Node::Text(name, text) => {
                out.push_str(&format!("{pad}<{name}>{}</{name}>\n", escape(text)))
            }
            Node::Parent(name, children) => {
                out.push_str(&format!("{pad}<{name}>\n"));
                for child in children {
                    child.write(out, depth + 1);
                }
                out.push_str(&format!("{pad}</{name}>\n"));
            }
        }
    }
}

/// `<{action}Response><{action}Result>...</{action}Result><ResponseMetadata>...`
pub fn success(action: &str, result: &[Node], request_id: &str) -> String {
    let mut out = format!("<{action}Response xmlns=\"{NAMESPACE}\">\n  <{action}Result>\n");
    for node in result {
        node.write(&mut out, 2);
    }
    out.push_str(&format!(
        "  </{action}Result>\n  <ResponseMetadata>\n    <RequestId>{}</RequestId>\n  \
         </ResponseMetadata>\n</{action}Response>\n",
        escape(request_id)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_document() {
        let xml = success(
            "GetCallerIdentity",
            &[Node::Text("Arn", "a<b".into())],
            "req-1",
        );
        assert!(xml.starts_with(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
        ));
        assert!(xml.contains("<Arn>a&lt;b</Arn>"));
        assert!(xml.contains("<RequestId>req-1</RequestId>"));
    }

    #[test]
    fn error_document() {
        let xml = StsError::new(500, "InternalFailure", "boom").to_xml("r");
        assert!(xml.contains("<Type>Receiver</Type>"));
        assert!(xml.contains("<Code>InternalFailure</Code>"));
    }
}
