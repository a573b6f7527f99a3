//! The pprof profile format (`perftools.profiles.Profile`, gzipped), which
//! `pprof`, speedscope and most profile viewers open: the messages zkjit
//! writes, declared with prost, and the writer.

use std::collections::HashMap;
use std::io::{Read, Write};

use super::Profile;

/// The protobuf messages of the pprof format (`profile.proto`), as far as
/// zkjit uses them.
pub mod messages {
    /// A whole profile. Strings are indices into `string_table`, whose
    /// first entry is "".
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Profile {
        /// What each value of a sample counts.
        #[prost(message, repeated, tag = "1")]
        pub sample_type: Vec<ValueType>,
        /// The samples.
        #[prost(message, repeated, tag = "2")]
        pub sample: Vec<Sample>,
        /// The program's code mappings.
        #[prost(message, repeated, tag = "3")]
        pub mapping: Vec<Mapping>,
        /// Locations samples refer to.
        #[prost(message, repeated, tag = "4")]
        pub location: Vec<Location>,
        /// Functions locations refer to.
        #[prost(message, repeated, tag = "5")]
        pub function: Vec<Function>,
        /// All strings.
        #[prost(string, repeated, tag = "6")]
        pub string_table: Vec<String>,
        /// Index of the sample type shown by default.
        #[prost(int64, tag = "14")]
        pub default_sample_type: i64,
    }

    /// A sample type: its name and unit.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ValueType {
        /// Name (string index).
        #[prost(int64, tag = "1")]
        pub r#type: i64,
        /// Unit (string index).
        #[prost(int64, tag = "2")]
        pub unit: i64,
    }

    /// One stack and its values.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        /// The stack's locations, innermost first.
        #[prost(uint64, repeated, tag = "1")]
        pub location_id: Vec<u64>,
        /// One value per sample type.
        #[prost(int64, repeated, tag = "2")]
        pub value: Vec<i64>,
    }

    /// A range of the program's code.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Mapping {
        /// Its id (from 1).
        #[prost(uint64, tag = "1")]
        pub id: u64,
        /// First address.
        #[prost(uint64, tag = "2")]
        pub memory_start: u64,
        /// Address past the end.
        #[prost(uint64, tag = "3")]
        pub memory_limit: u64,
        /// Where it is in its file.
        #[prost(uint64, tag = "4")]
        pub file_offset: u64,
        /// The program's name (string index).
        #[prost(int64, tag = "5")]
        pub filename: i64,
        /// Build id (string index).
        #[prost(int64, tag = "6")]
        pub build_id: i64,
        /// Whether its locations name functions.
        #[prost(bool, tag = "7")]
        pub has_functions: bool,
    }

    /// A code address and the function it is in.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Location {
        /// Its id (from 1).
        #[prost(uint64, tag = "1")]
        pub id: u64,
        /// Its mapping's id.
        #[prost(uint64, tag = "2")]
        pub mapping_id: u64,
        /// The address.
        #[prost(uint64, tag = "3")]
        pub address: u64,
        /// The function (one line: zkjit does not read debug info).
        #[prost(message, repeated, tag = "4")]
        pub line: Vec<Line>,
    }

    /// A function at a location.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Line {
        /// The function's id.
        #[prost(uint64, tag = "1")]
        pub function_id: u64,
        /// The source line (0: unknown).
        #[prost(int64, tag = "2")]
        pub line: i64,
    }

    /// A function.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Function {
        /// Its id (from 1).
        #[prost(uint64, tag = "1")]
        pub id: u64,
        /// Its demangled name (string index).
        #[prost(int64, tag = "2")]
        pub name: i64,
        /// Its symbol (string index).
        #[prost(int64, tag = "3")]
        pub system_name: i64,
        /// Its source file (string index; "" when unknown).
        #[prost(int64, tag = "4")]
        pub filename: i64,
    }
}

use messages::{Function, Line, Location, Mapping, Sample, ValueType};

/// Builds the string, function and location tables as samples need them.
struct Tables {
    profile: messages::Profile,
    strings: HashMap<String, i64>,
    functions: HashMap<String, u64>,
    locations: HashMap<(u32, String), u64>,
}

impl Tables {
    fn string(&mut self, text: &str) -> i64 {
        if let Some(&index) = self.strings.get(text) {
            return index;
        }
        let index = self.profile.string_table.len() as i64;
        self.profile.string_table.push(text.to_string());
        self.strings.insert(text.to_string(), index);
        index
    }

    fn function(&mut self, name: &str) -> u64 {
        if let Some(&id) = self.functions.get(name) {
            return id;
        }
        let id = self.profile.function.len() as u64 + 1;
        let name_index = self.string(name);
        self.profile.function.push(Function {
            id,
            name: name_index,
            system_name: name_index,
            filename: 0,
        });
        self.functions.insert(name.to_string(), id);
        id
    }

    fn location(&mut self, address: u32, name: &str) -> u64 {
        let key = (address, name.to_string());
        if let Some(&id) = self.locations.get(&key) {
            return id;
        }
        let id = self.profile.location.len() as u64 + 1;
        let function_id = self.function(name);
        self.profile.location.push(Location {
            id,
            mapping_id: 1,
            address: u64::from(address),
            line: vec![Line {
                function_id,
                line: 0,
            }],
        });
        self.locations.insert(key, id);
        id
    }
}

/// `profile` as a gzipped pprof protobuf.
pub fn encode(profile: &Profile, program_name: &str) -> anyhow::Result<Vec<u8>> {
    let mut tables = Tables {
        profile: messages::Profile::default(),
        strings: HashMap::new(),
        functions: HashMap::new(),
        locations: HashMap::new(),
    };
    tables.string("");
    for (name, unit) in [("cycles", "count"), ("paging_cycles", "count")] {
        let sample_type = ValueType {
            r#type: tables.string(name),
            unit: tables.string(unit),
        };
        tables.profile.sample_type.push(sample_type);
    }
    let filename = tables.string(program_name);
    tables.profile.mapping.push(Mapping {
        id: 1,
        memory_start: 0,
        memory_limit: 1 << 32,
        file_offset: 0,
        filename,
        build_id: 0,
        has_functions: true,
    });
    for stack in &profile.stacks {
        let location_id = stack
            .frames
            .iter()
            .rev()
            .map(|frame| tables.location(frame.address, &frame.name))
            .collect();
        tables.profile.sample.push(Sample {
            location_id,
            value: vec![stack.cycles as i64, stack.paging_cycles as i64],
        });
    }
    let bytes = prost::Message::encode_to_vec(&tables.profile);
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(&bytes)?;
    Ok(gzip.finish()?)
}

/// Reads a gzipped (or plain) pprof protobuf.
pub fn decode(bytes: &[u8]) -> anyhow::Result<messages::Profile> {
    let plain = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(bytes).read_to_end(&mut plain)?;
        plain
    } else {
        bytes.to_vec()
    };
    Ok(prost::Message::decode(plain.as_slice())?)
}
