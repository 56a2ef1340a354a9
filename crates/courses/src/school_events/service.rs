//! The tonic implementation of `campus.courses.v1.EventsService`: each method reads the
//! verified caller and delegates.

use campus_proto::courses::{
    CancelEventRequest, CancelEventResponse, CreateEventRequest, CreateEventResponse,
    GetCalendarUrlRequest, GetCalendarUrlResponse, GetEventRequest, GetEventResponse,
    ListAttendeesRequest, ListAttendeesResponse, ListUpcomingEventsRequest,
    ListUpcomingEventsResponse, RespondToEventRequest, RespondToEventResponse, UpdateEventRequest,
    UpdateEventResponse, events_service_server::EventsService,
};
use campus_runtime::auth::caller;
use tonic::{Request, Response, Status};

use super::SchoolEvents;

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl EventsService for SchoolEvents {
    async fn create_event(
        &self,
        request: Request<CreateEventRequest>,
    ) -> Reply<CreateEventResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.create(&caller, request.into_inner()).await?,
        ))
    }

    async fn update_event(
        &self,
        request: Request<UpdateEventRequest>,
    ) -> Reply<UpdateEventResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.update(&caller, request.into_inner()).await?,
        ))
    }

    async fn cancel_event(
        &self,
        request: Request<CancelEventRequest>,
    ) -> Reply<CancelEventResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.cancel(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_event(&self, request: Request<GetEventRequest>) -> Reply<GetEventResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.get(&caller, &request.into_inner().event_id).await?,
        ))
    }

    async fn list_upcoming_events(
        &self,
        request: Request<ListUpcomingEventsRequest>,
    ) -> Reply<ListUpcomingEventsResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.upcoming(&caller, request.into_inner()).await?,
        ))
    }

    async fn respond_to_event(
        &self,
        request: Request<RespondToEventRequest>,
    ) -> Reply<RespondToEventResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.respond(&caller, request.into_inner()).await?,
        ))
    }

    async fn list_attendees(
        &self,
        request: Request<ListAttendeesRequest>,
    ) -> Reply<ListAttendeesResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.attendees(&caller, request.into_inner()).await?,
        ))
    }

    async fn get_calendar_url(
        &self,
        request: Request<GetCalendarUrlRequest>,
    ) -> Reply<GetCalendarUrlResponse> {
        let caller = caller(&request)?;
        Ok(Response::new(
            self.calendar_url(&caller, request.into_inner()).await?,
        ))
    }
}
