//! Tests of template import.
