//! A FHIRPath engine for the subset SQL on FHIR v2 needs, and more: paths,
//! indexers, `where()`/`select()`/`exists()`/`all()`/`repeat()`, `ofType()`/`is`/`as`,
//! `first()`/`last()`/`skip()`/`take()`, boolean logic, comparison and arithmetic
//! (dates included), string and maths functions, `extension()`,
//! `getResourceKey()`/`getReferenceKey()` and `lowBoundary()`/`highBoundary()`.
//!
//! ```
//! use salus_fhir::fhirpath::{Environment, FhirPath};
//! let patient = serde_json::json!({
//!     "resourceType": "Patient", "id": "p1",
//!     "name": [{"use": "official", "family": "Chalmers", "given": ["Peter", "James"]}],
//!     "deceasedBoolean": false
//! });
//! let path = FhirPath::compile("name.where(use = 'official').given.join(' ')").unwrap();
//! let env = Environment::default();
//! let out = path.evaluate(&patient, &env).unwrap();
//! assert_eq!(out[0].as_str().as_deref(), Some("Peter James"));
//! let dead = FhirPath::compile("deceased.ofType(boolean)").unwrap();
//! assert_eq!(dead.evaluate(&patient, &env).unwrap()[0].as_bool(), Some(false));
//! ```

mod arithmetic;
pub mod ast;
mod eval;
mod functions;
mod lexer;
mod parser;
mod strings;
pub mod temporal;
mod value;

pub use eval::{Collection, Environment, evaluate, resource_item};
pub use functions::reference_key;
pub use parser::parse;
pub use strings::to_text;
pub use temporal::{Precision, Temporal, TemporalKind};
pub use value::{Item, Node, choice_type, equals};

use crate::error::{FhirError, Result};
use ast::Expr;

/// A compiled FHIRPath expression.
#[derive(Debug, Clone, PartialEq)]
pub struct FhirPath {
    source: String,
    expr: Expr,
}

impl FhirPath {
    /// Parses `source` and checks every function name and argument count.
    pub fn compile(source: &str) -> Result<FhirPath> {
        let expr = parse(source)?;
        let mut problem = None;
        expr.walk(&mut |e| {
            if let Expr::Call { name, args, .. } = e
                && problem.is_none()
            {
                problem = functions::check_call(name, args.len()).err();
            }
        });
        if let Some(message) = problem {
            return Err(FhirError::FhirPathSyntax {
                expression: source.to_string(),
                position: 0,
                message,
            });
        }
        Ok(FhirPath {
            source: source.to_string(),
            expr,
        })
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The syntax tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Names of the `%constants` the expression uses.
    pub fn external_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        self.expr.walk(&mut |e| {
            if let Expr::External(name) = e {
                names.push(name.clone());
            }
        });
        names
    }

    /// Evaluates the expression on a resource (`%resource` defaults to it).
    pub fn evaluate<'a>(
        &self,
        resource: &'a serde_json::Value,
        env: &Environment<'a>,
    ) -> Result<Collection<'a>> {
        let root = resource_item(resource);
        let mut env = env.clone();
        env.resource.get_or_insert(resource);
        evaluate(&self.expr, &[root], &env)
    }

    /// Evaluates the expression with `focus` as its input.
    pub fn evaluate_on<'a>(
        &self,
        focus: &[Item<'a>],
        env: &Environment<'a>,
    ) -> Result<Collection<'a>> {
        evaluate(&self.expr, focus, env)
    }
}
