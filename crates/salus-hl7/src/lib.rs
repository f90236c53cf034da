//! HL7 v2 messages: parsing (v2.3-2.8, batches and files, escapes, any separators)
//! and mapping of ADT, ORU and ORM messages to FHIR R4 resources.
//!
//! Parsing is zero-copy: a [`Message`] borrows the input text, splits fields once and
//! splits repetitions, components and subcomponents on access. Values are read with
//! paths like `PID-5-1` (1-based, `[n]` for repetitions and segment occurrences).
//! [`parse`] reads whole inputs (single messages, `BHS..BTS` batches, `FHS..FTS`
//! files) and returns every good message together with [`Diagnostic`]s that name the
//! segment and field of each problem; it never stops at the first error.
//!
//! ```
//! use salus_hl7::{parse, Message};
//!
//! let text = "MSH|^~\\&|LAB|HOSP|||20240105083000||ORU^R01|MSG0001|P|2.5\r\
//!             PID|1||12345^^^HOSP^MR~999^^^NAT||Doe^Jane^Q||19800704|F\r\
//!             OBX|1|NM|2345-7^Glucose^LN||5.4|mmol/L|3.9-6.1|N|||F\r";
//! let msg = Message::parse(text).unwrap();
//! assert_eq!(msg.message_type().to_string(), "ORU^R01");
//! assert_eq!(msg.get("PID-5-2").as_deref(), Some("Jane"));
//! assert_eq!(msg.get("PID-3[2]-1").as_deref(), Some("999"));
//! assert_eq!(msg.get("OBX-3-3").as_deref(), Some("LN"));
//!
//! // Batches keep their good messages and report the bad parts with positions.
//! let batch = "BHS|^~\\&|LAB\rPID|1\rMSH|^~\\&|LAB||||||ADT^A08|M2|P|2.5\rBTS|1\r";
//! let read = parse(batch);
//! assert_eq!(read.messages.len(), 1);
//! assert_eq!(read.diagnostics[0].location.segment, Some(2));
//! ```

mod datatypes;
mod datetime;
mod delimiters;
mod diagnostic;
mod error;
mod escape;
mod import;
mod map;
mod message;
mod path;
mod reader;

pub use datatypes::coding_system_uri;
pub use datetime::{DateError, to_fhir_date, to_fhir_datetime, to_fhir_time};
pub use delimiters::Delimiters;
pub use diagnostic::{Diagnostic, Location, Severity};
pub use error::Hl7Error;
pub use escape::{escape, unescape};
pub use import::{Hl7Importer, Hl7Input, import_hl7};
pub use map::{
    MappedResource, Mapping, ResourceSet, SUPPORTED_MESSAGES, map_message, map_messages,
};
pub use message::{Element, Level, Message, MessageType, Segment};
pub use path::Path;
pub use reader::{ParsedInput, decode, parse};
