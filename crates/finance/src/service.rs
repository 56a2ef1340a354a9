//! The tonic implementation of `campus.finance.v1.FinanceService`: each method reads the
//! verified caller and acts on their own data only.

use campus_proto::finance::{
    BatchImportTransactionsRequest, BatchImportTransactionsResponse, CloseAccountRequest,
    CloseAccountResponse, CreateAccountRequest, CreateAccountResponse, CreateCategoryRequest,
    CreateCategoryResponse, CreateTransactionRequest, CreateTransactionResponse,
    CreateTransferRequest, CreateTransferResponse, DeleteTransactionRequest,
    DeleteTransactionResponse, GetAccountRequest, GetAccountResponse, GetAnalyticsRequest,
    GetAnalyticsResponse, GetBalanceRequest, GetBalanceResponse, GetTransactionRequest,
    GetTransactionResponse, ImportTransactionsRequest, ImportTransactionsResponse,
    ListAccountsRequest, ListAccountsResponse, ListBudgetsRequest, ListBudgetsResponse,
    ListCategoriesRequest, ListCategoriesResponse, ListTransactionsRequest,
    ListTransactionsResponse, ListTransfersRequest, ListTransfersResponse, RenameAccountRequest,
    RenameAccountResponse, SetBudgetRequest, SetBudgetResponse, UpdateTransactionRequest,
    UpdateTransactionResponse, WatchAnalyticsRequest, finance_service_server::FinanceService,
};
use campus_runtime::auth::caller;
use futures::StreamExt as _;
use tonic::{Request, Response, Status, Streaming};

use crate::{Finance, analytics::ReportStream, messages};

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl FinanceService for Finance {
    async fn create_account(
        &self,
        request: Request<CreateAccountRequest>,
    ) -> Reply<CreateAccountResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.create_account(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_account(&self, request: Request<GetAccountRequest>) -> Reply<GetAccountResponse> {
        let caller = caller(&request)?;
        let account = self
            .own_account(&caller, &request.into_inner().account_id)
            .await?;
        Ok(Response::new(GetAccountResponse {
            account: Some(messages::account(&account)),
        }))
    }

    async fn list_accounts(
        &self,
        request: Request<ListAccountsRequest>,
    ) -> Reply<ListAccountsResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.list_accounts(&caller, request.into_inner()).await?,
        ))
    }

    async fn rename_account(
        &self,
        request: Request<RenameAccountRequest>,
    ) -> Reply<RenameAccountResponse> {
        let caller = caller(&request)?;
        let body = request.into_inner();
        let account = self
            .rename_account(&caller, &body.account_id, &body.name)
            .await?;
        Ok(Response::new(RenameAccountResponse {
            account: Some(messages::account(&account)),
        }))
    }

    async fn close_account(
        &self,
        request: Request<CloseAccountRequest>,
    ) -> Reply<CloseAccountResponse> {
        let caller = caller(&request)?;
        let account = self.close_account(&caller, request.into_inner()).await?;
        Ok(Response::new(CloseAccountResponse {
            account: Some(messages::account(&account)),
        }))
    }

    async fn create_category(
        &self,
        request: Request<CreateCategoryRequest>,
    ) -> Reply<CreateCategoryResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.create_category(&caller, request.into_inner()).await?,
        ))
    }

    async fn list_categories(
        &self,
        request: Request<ListCategoriesRequest>,
    ) -> Reply<ListCategoriesResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.list_categories(&caller, request.into_inner()).await?,
        ))
    }

    async fn create_transaction(
        &self,
        request: Request<CreateTransactionRequest>,
    ) -> Reply<CreateTransactionResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.create_transaction(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn update_transaction(
        &self,
        request: Request<UpdateTransactionRequest>,
    ) -> Reply<UpdateTransactionResponse> {
        let caller = caller(&request)?;
        let transaction = self
            .update_transaction(&caller, request.into_inner())
            .await?;
        Ok(Response::new(UpdateTransactionResponse {
            transaction: Some(transaction),
        }))
    }

    async fn delete_transaction(
        &self,
        request: Request<DeleteTransactionRequest>,
    ) -> Reply<DeleteTransactionResponse> {
        let caller = caller(&request)?;
        self.delete_transaction(&caller, request.into_inner())
            .await?;
        Ok(Response::new(DeleteTransactionResponse {}))
    }

    async fn get_transaction(
        &self,
        request: Request<GetTransactionRequest>,
    ) -> Reply<GetTransactionResponse> {
        let caller = caller(&request)?;
        let transaction = self
            .get_transaction(&caller, &request.into_inner().transaction_id)
            .await?;
        Ok(Response::new(GetTransactionResponse {
            transaction: Some(transaction),
        }))
    }

    async fn list_transactions(
        &self,
        request: Request<ListTransactionsRequest>,
    ) -> Reply<ListTransactionsResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.list_transactions(&caller, request.into_inner())
                .await?,
        ))
    }

    async fn create_transfer(
        &self,
        request: Request<CreateTransferRequest>,
    ) -> Reply<CreateTransferResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.create_transfer(&caller, request.into_inner()).await?,
        ))
    }

    async fn list_transfers(
        &self,
        request: Request<ListTransfersRequest>,
    ) -> Reply<ListTransfersResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.list_transfers(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_balance(&self, request: Request<GetBalanceRequest>) -> Reply<GetBalanceResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.balance(&caller, &request.into_inner().account_id)
                .await?,
        ))
    }

    async fn import_transactions(
        &self,
        request: Request<Streaming<ImportTransactionsRequest>>,
    ) -> Reply<ImportTransactionsResponse> {
        let caller = caller(&request)?;
        let messages = request
            .into_inner()
            .map(|message| message.map(|message| message.rows));
        let outcome = self.import(&caller, messages).await?;
        Ok(Response::new(ImportTransactionsResponse {
            accepted_count: outcome.accepted,
            duplicate_count: outcome.duplicates,
            rejected_rows: outcome.rejected,
        }))
    }

    async fn batch_import_transactions(
        &self,
        request: Request<BatchImportTransactionsRequest>,
    ) -> Reply<BatchImportTransactionsResponse> {
        let caller = caller(&request)?;
        let rows = request.into_inner().rows;
        let outcome = self
            .import(&caller, futures::stream::iter([Ok(rows)]))
            .await?;
        Ok(Response::new(BatchImportTransactionsResponse {
            accepted_count: outcome.accepted,
            duplicate_count: outcome.duplicates,
            rejected_rows: outcome.rejected,
        }))
    }

    async fn set_budget(&self, request: Request<SetBudgetRequest>) -> Reply<SetBudgetResponse> {
        let caller = caller(&request)?;
        let budget = self.set_budget(&caller, request.into_inner()).await?;
        Ok(Response::new(SetBudgetResponse {
            budget: Some(messages::budget(&budget)),
        }))
    }

    async fn list_budgets(
        &self,
        request: Request<ListBudgetsRequest>,
    ) -> Reply<ListBudgetsResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.list_budgets(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_analytics(
        &self,
        request: Request<GetAnalyticsRequest>,
    ) -> Reply<GetAnalyticsResponse> {
        let caller = caller(&request)?;
        let report = self.analytics(&caller, request.into_inner().query).await?;
        Ok(Response::new(GetAnalyticsResponse {
            report: Some(report),
        }))
    }

    async fn watch_analytics(
        &self,
        request: Request<WatchAnalyticsRequest>,
    ) -> Reply<ReportStream> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.watch_analytics(&caller, request.into_inner().query)
                .await?,
        ))
    }
}
