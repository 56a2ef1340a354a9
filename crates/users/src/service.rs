//! The tonic implementation of `campus.users.v1.UsersService`: each method delegates to the
//! schools, accounts or login module.

use campus_proto::users::{
    BatchGetUsersRequest, BatchGetUsersResponse, ChangePasswordRequest, ChangePasswordResponse,
    CreateSchoolRequest, CreateSchoolResponse, CreateUserRequest, CreateUserResponse,
    DeactivateUserRequest, DeactivateUserResponse, GetJwksRequest, GetJwksResponse,
    GetSchoolRequest, GetSchoolResponse, GetUserRequest, GetUserResponse, ListSchoolsRequest,
    ListSchoolsResponse, ListUsersRequest, ListUsersResponse, LoginRequest, LoginResponse,
    LogoutRequest, LogoutResponse, RefreshTokenRequest, RefreshTokenResponse, RegisterUserRequest,
    RegisterUserResponse, UpdateProfileRequest, UpdateProfileResponse,
    users_service_server::UsersService,
};
use tonic::Request;

use crate::{Reply, Users};

#[tonic::async_trait]
impl UsersService for Users {
    async fn create_school(
        &self,
        request: Request<CreateSchoolRequest>,
    ) -> Reply<CreateSchoolResponse> {
        Users::create_school(self, request).await
    }

    async fn get_school(&self, request: Request<GetSchoolRequest>) -> Reply<GetSchoolResponse> {
        Users::get_school(self, request).await
    }

    async fn list_schools(
        &self,
        request: Request<ListSchoolsRequest>,
    ) -> Reply<ListSchoolsResponse> {
        Users::list_schools(self, request).await
    }

    async fn register_user(
        &self,
        request: Request<RegisterUserRequest>,
    ) -> Reply<RegisterUserResponse> {
        Users::register_user(self, request).await
    }

    async fn create_user(&self, request: Request<CreateUserRequest>) -> Reply<CreateUserResponse> {
        Users::create_user(self, request).await
    }

    async fn get_user(&self, request: Request<GetUserRequest>) -> Reply<GetUserResponse> {
        Users::get_user(self, request).await
    }

    async fn batch_get_users(
        &self,
        request: Request<BatchGetUsersRequest>,
    ) -> Reply<BatchGetUsersResponse> {
        Users::batch_get_users(self, request).await
    }

    async fn list_users(&self, request: Request<ListUsersRequest>) -> Reply<ListUsersResponse> {
        Users::list_users(self, request).await
    }

    async fn update_profile(
        &self,
        request: Request<UpdateProfileRequest>,
    ) -> Reply<UpdateProfileResponse> {
        Users::update_profile(self, request).await
    }

    async fn change_password(
        &self,
        request: Request<ChangePasswordRequest>,
    ) -> Reply<ChangePasswordResponse> {
        Users::change_password(self, request).await
    }

    async fn deactivate_user(
        &self,
        request: Request<DeactivateUserRequest>,
    ) -> Reply<DeactivateUserResponse> {
        Users::deactivate_user(self, request).await
    }

    async fn login(&self, request: Request<LoginRequest>) -> Reply<LoginResponse> {
        Users::login(self, request).await
    }

    async fn refresh_token(
        &self,
        request: Request<RefreshTokenRequest>,
    ) -> Reply<RefreshTokenResponse> {
        Users::refresh_token(self, request).await
    }

    async fn logout(&self, request: Request<LogoutRequest>) -> Reply<LogoutResponse> {
        Users::logout(self, request).await
    }

    async fn get_jwks(&self, _request: Request<GetJwksRequest>) -> Reply<GetJwksResponse> {
        Users::get_jwks(self, _request).await
    }
}
