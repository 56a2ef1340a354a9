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
use campus_runtime::auth::caller;
use tonic::{Request, Response};

use crate::{Reply, Users};

#[tonic::async_trait]
impl UsersService for Users {
    async fn create_school(
        &self,
        request: Request<CreateSchoolRequest>,
    ) -> Reply<CreateSchoolResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.create_school(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_school(&self, request: Request<GetSchoolRequest>) -> Reply<GetSchoolResponse> {
        Ok(Response::new(self.get_school(request.into_inner()).await?))
    }

    async fn list_schools(
        &self,
        request: Request<ListSchoolsRequest>,
    ) -> Reply<ListSchoolsResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.list_schools(&caller, request.into_inner()).await?,
        ))
    }

    async fn register_user(
        &self,
        request: Request<RegisterUserRequest>,
    ) -> Reply<RegisterUserResponse> {
        Ok(Response::new(
            self.register_user(request.into_inner()).await?,
        ))
    }

    async fn create_user(&self, request: Request<CreateUserRequest>) -> Reply<CreateUserResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.create_user(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_user(&self, request: Request<GetUserRequest>) -> Reply<GetUserResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.get_user(&caller, request.into_inner()).await?,
        ))
    }

    async fn batch_get_users(
        &self,
        request: Request<BatchGetUsersRequest>,
    ) -> Reply<BatchGetUsersResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.batch_get_users(&caller, request.into_inner()).await?,
        ))
    }

    async fn list_users(&self, request: Request<ListUsersRequest>) -> Reply<ListUsersResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.list_users(&caller, request.into_inner()).await?,
        ))
    }

    async fn update_profile(
        &self,
        request: Request<UpdateProfileRequest>,
    ) -> Reply<UpdateProfileResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.update_profile(&caller, request.into_inner()).await?,
        ))
    }

    async fn change_password(
        &self,
        request: Request<ChangePasswordRequest>,
    ) -> Reply<ChangePasswordResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.change_password(&caller, request.into_inner()).await?,
        ))
    }

    async fn deactivate_user(
        &self,
        request: Request<DeactivateUserRequest>,
    ) -> Reply<DeactivateUserResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.deactivate_user(&caller, request.into_inner()).await?,
        ))
    }

    async fn login(&self, request: Request<LoginRequest>) -> Reply<LoginResponse> {
        let address = request.remote_addr().map(|addr| addr.ip().to_string());
        Ok(Response::new(
            self.login(address, request.into_inner()).await?,
        ))
    }

    async fn refresh_token(
        &self,
        request: Request<RefreshTokenRequest>,
    ) -> Reply<RefreshTokenResponse> {
        Ok(Response::new(
            self.refresh_token(request.into_inner()).await?,
        ))
    }

    async fn logout(&self, request: Request<LogoutRequest>) -> Reply<LogoutResponse> {
        Ok(Response::new(self.logout(request.into_inner()).await?))
    }

    async fn get_jwks(&self, request: Request<GetJwksRequest>) -> Reply<GetJwksResponse> {
        Ok(Response::new(self.get_jwks(request.into_inner()).await?))
    }
}
