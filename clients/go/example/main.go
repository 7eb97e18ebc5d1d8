// Command example gates and reads a customer over gRPC with the generated package (gen/go) and grpc-go.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	tollboothv1 "github.com/tollbooth/tollbooth/gen/go/tollbooth/v1"
)

func main() {
	conn, err := grpc.Dial("localhost:50051", grpc.WithInsecure())
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+os.Getenv("TOLLBOOTH_ADMIN_KEY"))

	jane := &tollboothv1.CustomerRef{Ref: &tollboothv1.CustomerRef_ExternalId{ExternalId: "jane"}}
	check, err := tollboothv1.NewUsageServiceClient(conn).Check(ctx, &tollboothv1.CheckRequest{Customer: jane, EventType: "image_generated"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("allowed:", check.Allowed, check.EstimatedCost[0].Amount)

	catalog := tollboothv1.NewCatalogServiceClient(conn)
	_, err = catalog.GetProduct(ctx, &tollboothv1.GetProductRequest{Ref: &tollboothv1.GetProductRequest_Code{Code: "no-such-product"}})
	for _, detail := range status.Convert(err).Details() {
		if info, ok := detail.(*errdetails.ErrorInfo); ok {
			fmt.Println(status.Code(err), info.Reason) // NotFound PRODUCT_NOT_FOUND
		}
	}
}
