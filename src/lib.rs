//! ucwa
