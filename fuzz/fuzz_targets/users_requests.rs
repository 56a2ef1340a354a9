//! The users service's request checks on arbitrary decoded messages: RegisterUser,
//! CreateUser, CreateSchool and UpdateProfile. The first byte picks the message, the rest is
//! its protobuf encoding; what the checks accept must be a well-formed account or school
//! (asserted in `campus_users::fuzzing`).

#![no_main]

use campus_proto::users::{
    CreateSchoolRequest, CreateUserRequest, RegisterUserRequest, UpdateProfileRequest,
};
use campus_users::fuzzing;
use prost::Message as _;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(body) = RegisterUserRequest::decode(bytes) {
                fuzzing::check_register_user(&body);
            }
        }
        1 => {
            if let Ok(body) = CreateUserRequest::decode(bytes) {
                fuzzing::check_create_user(&body);
            }
        }
        2 => {
            if let Ok(body) = CreateSchoolRequest::decode(bytes) {
                fuzzing::check_create_school(&body);
            }
        }
        _ => {
            if let Ok(body) = UpdateProfileRequest::decode(bytes) {
                fuzzing::check_update_profile(&body);
            }
        }
    }
});
