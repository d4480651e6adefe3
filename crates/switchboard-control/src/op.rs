//! Typed control plane operations and what they return.

use crate::kind::Collection;
use crate::page::PageRequest;
use serde_json::{Map, Value};

/// One apigatewayv2 operation on a WebSocket API resource.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `Create*`: add a resource to `collection`.
    Create {
        /// Where.
        collection: Collection,
        /// The request body.
        body: Map<String, Value>,
    },
    /// `Get*` of one resource.
    Get {
        /// Where.
        collection: Collection,
        /// Its id (its name for a stage).
        id: String,
    },
    /// `Get*s`: one page of a collection.
    List {
        /// Which.
        collection: Collection,
        /// `maxResults` and `nextToken`.
        page: PageRequest,
    },
    /// `Update*` (PATCH): the fields sent replace the resource's.
    Update {
        /// Where.
        collection: Collection,
        /// Its id.
        id: String,
        /// The request body.
        body: Map<String, Value>,
    },
    /// `Delete*`.
    Delete {
        /// Where.
        collection: Collection,
        /// Its id.
        id: String,
    },
    /// `TagResource`.
    Tag {
        /// The resource ARN.
        arn: String,
        /// Tags to add or replace.
        tags: Map<String, Value>,
    },
    /// `UntagResource`.
    Untag {
        /// The resource ARN.
        arn: String,
        /// Tag keys to remove.
        keys: Vec<String>,
    },
    /// `GetTags`.
    GetTags {
        /// The resource ARN.
        arn: String,
    },
}

impl Op {
    /// Whether the operation can change the state (and so is logged and stored).
    pub fn is_change(&self) -> bool {
        !matches!(self, Op::Get { .. } | Op::List { .. } | Op::GetTags { .. })
    }

    /// The apigatewayv2 operation name, for logs and metrics (`CreateRoute`, `GetApis`, ...).
    pub fn name(&self) -> String {
        let kind = |c: &Collection| c.kind().name();
        match self {
            Op::Create { collection, .. } => format!("Create{}", kind(collection)),
            Op::Get { collection, .. } => format!("Get{}", kind(collection)),
            Op::List { collection, .. } => format!("Get{}s", kind(collection)),
            Op::Update { collection, .. } => format!("Update{}", kind(collection)),
            Op::Delete { collection, .. } => format!("Delete{}", kind(collection)),
            Op::Tag { .. } => "TagResource".into(),
            Op::Untag { .. } => "UntagResource".into(),
            Op::GetTags { .. } => "GetTags".into(),
        }
    }
}

/// A successful operation's result, as the wire returns it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// 201 with the new resource.
    Created(Value),
    /// 200 with the resource (`Get*`, `Update*`).
    Found(Value),
    /// 200 with a page: `{"items": [...], "nextToken": ...}`.
    Listed(Value),
    /// 204, no body.
    Deleted,
    /// 201, no body (`TagResource`).
    Tagged,
}

impl Outcome {
    /// HTTP status and JSON body.
    pub fn into_response(self) -> (u16, Option<Value>) {
        match self {
            Outcome::Created(v) => (201, Some(v)),
            Outcome::Found(v) | Outcome::Listed(v) => (200, Some(v)),
            Outcome::Deleted => (204, None),
            Outcome::Tagged => (201, Some(Value::Object(Map::new()))),
        }
    }
}
